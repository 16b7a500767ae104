// The typescript example: compiled by tsc in the build stage; the image
// holds dist/ and the production dependencies only.
import express, { Request, Response } from 'express';

interface Health {
  status: 'ok';
  typescript: boolean;
}

const app = express();
const port: number = Number(process.env.PORT ?? 3000);

app.get('/', (_req: Request, res: Response) => {
  res.type('text/plain').send(`hello from typescript, pid ${process.pid}\n`);
});

app.get('/health', (_req: Request, res: Response) => {
  const h: Health = { status: 'ok', typescript: true };
  res.json(h);
});

const server = app.listen(port, () => {
  console.log(`listening on ${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
