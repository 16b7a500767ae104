// A node command that never listens (a migration, a script): prints and exits 7.
console.log('script ran in', process.pid);
setTimeout(() => process.exit(7), 50);
