import { spawn } from 'node:child_process'
import { once } from 'node:events'
import type { Server as HttpServer } from 'node:http'
import { Server, type Socket } from 'node:net'

/**
 * Since libuv 1.45 (Node.js 20.3, nodejs/node#57364) a listening handle accepts one connection per turn of the
 * event loop, and a turn of a saturated verso takes hundreds of milliseconds: new connections then wait in the
 * kernel's accept queue, unanswered, where load shedding cannot reach them. Node 20 has no reusePort and libuv
 * no switch; what does help is more handles on the same listening socket, each accepting one per turn.
 *
 * A handle needs a file descriptor of its own, and Node cannot dup one: a short-lived child process is sent the
 * listening handle over IPC and sends it back `count` times, each arriving as a new descriptor of the same
 * socket (SCM_RIGHTS). The child never listens on it; it exits once the copies are sent. Each copy gets a
 * net.Server whose connections are handed to the HTTP server ('connection' is how an HTTP server is given a
 * socket). On a platform without descriptor passing it gives up and the HTTP server accepts alone.
 *
 * `backlog` must be the one the HTTP server listens with: listen() on a copy sets the socket's backlog again.
 */
const CHILD = `let listening
process.on('message', (message, handle) => {
  if (handle !== undefined) listening = handle
  if (message === 'copy') process.send('acceptor', listening)
  else if (message === 'done') process.disconnect()
})`

export async function addAcceptors (http: HttpServer, count: number, backlog: number, timeoutMs = 5000): Promise<Server[]> {
  const listening = (http as HttpServer & { _handle?: object | null })._handle
  if (count <= 0 || listening === undefined || listening === null) return []
  const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] })
  const handles: object[] = []
  const ended = once(child, 'exit')
  const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
  try {
    // One copy asked for at a time: a process sends handles one by one anyway, each after the other side's ack.
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message, handle) => {
        if (message !== 'acceptor' || handle === undefined) return
        handles.push(handle as object)
        child.send(handles.length < count ? 'copy' : 'done')
        if (handles.length >= count) resolve()
      })
      child.once('exit', () => { reject(new Error('the copying process ended early')) })
      child.send('copy', listening as Parameters<typeof child.send>[1])
    })
    await ended
  } catch {
    child.kill('SIGKILL')
  } finally {
    clearTimeout(timer)
  }
  return await Promise.all(handles.map(async (handle) => {
    const acceptor = new Server((socket: Socket) => { http.emit('connection', socket) })
    await new Promise<void>((resolve, reject) => {
      acceptor.once('error', reject)
      // Without a backlog Node would listen with 511 and shrink the accept queue of the shared socket.
      acceptor.listen(handle, backlog, () => { resolve() })
    })
    return acceptor
  }))
}
