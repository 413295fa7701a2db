// The control API (node:http): health for load balancers, Prometheus metrics, and calls.
//
//   GET    /health       200 {status: 'ok'} while taking calls; 503 {status: 'draining'|'full'}
//   GET    /metrics      Prometheus text format
//   GET    /calls        the calls in progress
//   POST   /calls        {"to": "sip:…"} → 202 {"id": call id} (a dial-out through the proxy)
//   DELETE /calls/:id    hang up → 204 (404 if no such call)

import { createServer } from 'node:http';

export function startHttp({ host, port }, { calls, metrics, log }) {
  const send = (res, status, body, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type });
    res.end(type === 'application/json' ? JSON.stringify(body) : body);
  };
  const readJson = (req) =>
    new Promise((resolve, reject) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (d) => {
        text += d;
        if (text.length > 65536) req.destroy(new Error('body too large'));
      });
      req.on('end', () => {
        try {
          resolve(text ? JSON.parse(text) : {});
        } catch {
          reject(Object.assign(new Error('body is not JSON'), { status: 400 }));
        }
      });
      req.on('error', reject);
    });

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://worker');
      if (req.method === 'GET' && url.pathname === '/health') {
        const a = calls.admission();
        return send(res, a.ok ? 200 : 503, { status: a.ok ? 'ok' : a.reason === 'limit' ? 'full' : 'draining', calls: calls.list().length });
      }
      if (req.method === 'GET' && url.pathname === '/metrics') {
        return send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
      }
      if (req.method === 'GET' && url.pathname === '/calls') {
        return send(res, 200, calls.list().map(({ id, direction, remote, state, startedAt }) => ({ id, direction, remote, state, startedAt })));
      }
      if (req.method === 'POST' && url.pathname === '/calls') {
        const { to } = await readJson(req);
        if (typeof to !== 'string') return send(res, 400, { error: 'body must be {"to": "sip:…"}' });
        return send(res, 202, { id: calls.dial(to) });
      }
      const m = /^\/calls\/(.+)$/.exec(url.pathname);
      if (req.method === 'DELETE' && m) {
        return (await calls.hangup(decodeURIComponent(m[1]))) ? send(res, 204, '', 'text/plain') : send(res, 404, { error: 'no such call' });
      }
      send(res, 404, { error: 'not found' });
    } catch (e) {
      if (!e.status) log({ event: 'http.error', error: e.message });
      send(res, e.status ?? 500, { error: e.message });
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
