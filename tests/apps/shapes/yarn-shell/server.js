// A shop API installed with yarn classic, started by a shell-form CMD.
const express = require('express');
const items = [{id: 1, name: 'tea'}, {id: 2, name: 'cake'}];
const app = express();
app.get('/api/items', (req, res) => res.json({items, via: process.env.npm_lifecycle_event || 'node', pid: process.pid}));
app.get('/healthz', (req, res) => res.send('ok'));
app.listen(Number(process.env.PORT) || 3000);
