// Serves this page's directory (argv[2]) on 127.0.0.1 at port argv[3] (or a free one) and
// prints `listening on http://ADDR` (tldraw's license check unmounts a
// production build opened by file:// after 5 s; on http://127.0.0.1 it
// counts as local development). Nothing else is served.
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? '.');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
const server = createServer((req, res) => {
  const path = join(root, new URL(req.url, 'http://x').pathname);
  if (!path.startsWith(root)) return res.writeHead(403).end();
  res.setHeader('content-type', types[extname(path)] ?? 'application/octet-stream');
  createReadStream(path).on('error', () => res.writeHead(404).end()).pipe(res);
});
server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
