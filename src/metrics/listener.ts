import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Metrics } from './metrics.js'

export interface MetricsServer {
  /** `http://host:port`, the port the listener really got (METRICS_PORT=0 picks a free one). */
  address: string
  close: () => Promise<void>
}

/**
 * The metrics listener: GET /metrics on METRICS_HOST:METRICS_PORT, a port of its own, so the public API never
 * exposes it and it needs no authentication (reach it only from the scraper's network). Anything else is 404.
 * The service (src/bin/server.ts) and the standalone relay (src/bin/relay.ts) both start one when METRICS_PORT is set.
 */
export async function serveMetrics (metrics: Metrics, host: string, port: number): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: metrics are at GET /metrics\n')
      return
    }
    metrics.exposition().then((body) => {
      res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body)
    }, () => {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics could not be collected\n')
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port: bound } = server.address() as AddressInfo
  return {
    address: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => { resolve() })
        // A scraper's keep-alive connection would hold close() open until it times out.
        server.closeAllConnections()
      })
    }
  }
}
