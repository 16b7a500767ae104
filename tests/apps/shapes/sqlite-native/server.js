// Notes kept in SQLite through better-sqlite3, a native module compiled in
// the build stage.  The database file is shared by every worker.
const Database = require('better-sqlite3');
const db = new Database(process.env.DB || '/tmp/notes.db');
db.pragma('journal_mode = WAL');
db.exec('CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
const add = db.prepare('INSERT INTO notes (body) VALUES (?)');
const all = db.prepare('SELECT id, body FROM notes ORDER BY id');

require('http').createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  if (req.method === 'POST' && req.url === '/notes') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const r = add.run(body);
      res.end(JSON.stringify({id: Number(r.lastInsertRowid)}) + '\n');
    });
    return;
  }
  if (req.url === '/notes') {
    const v = db.prepare('SELECT sqlite_version() AS v').get().v;
    return res.end(JSON.stringify({sqlite: v, notes: all.all()}) + '\n');
  }
  res.statusCode = 404;
  res.end('{}\n');
}).listen(3000);
