// An ordinary express app, unchanged for the supervisor.
'use strict';
const express = require('express');
const app = express();
app.get('/', (req, res) => res.json({ pid: process.pid, ok: true }));
app.get('/big', (req, res) => res.send('y'.repeat(200000)));
app.listen(Number(process.env.PORT), () => console.log('express up ' + process.pid));
