// `knock proxy HOST PORT` as an ssh ProxyCommand: after the knock, the connection is
// spliced to stdin/stdout. stdout carries only the stream; messages go to stderr.
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

export type PipeEnd =
  /** The server closed the connection (after everything it sent reached our output). */
  | 'closed'
  /** The connection broke (reset, or our output went away). */
  | 'error';

export interface PipeResult {
  end: PipeEnd;
  error?: Error;
}

/**
 * Pipes `input` → socket and socket → `output` with backpressure until the server
 * closes the connection. When `input` ends first, the socket is half-closed (FIN) and
 * the server's remaining data is still delivered. `output` is never ended (it is
 * usually our stdout). The socket is destroyed when this resolves.
 */
export async function spliceConnection(socket: Socket, input: Readable, output: Writable): Promise<PipeResult> {
  // Imported here, not at the top: only `knock proxy` needs streams' pipeline (start-up time).
  const { pipeline } = await import('node:stream/promises');
  // A reset that came before the pipelines (during the import, on a busy machine) already
  // destroyed the socket: a pipeline would then see it as ended, and report "closed".
  if (socket.errored !== null) {
    socket.destroy();
    return { end: 'error', error: socket.errored };
  }
  socket.setNoDelay(true);
  let upError: Error | undefined;
  // stdin → socket. Ending stdin ends the socket's writable side: a half-close.
  const up = pipeline(input, socket, { end: true }).catch((error: Error) => {
    upError = error;
  });
  try {
    // socket → stdout, the direction that decides when we are done.
    await pipeline(socket, output, { end: false });
    return { end: 'closed' };
  } catch (error) {
    return { end: 'error', error: upError ?? (error as Error) };
  } finally {
    socket.destroy();
    input.unpipe?.(socket);
    void up;
  }
}
