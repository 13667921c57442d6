/**
 * The test's dedicated Worker script (served as /test-worker.js): the Sigilo engine hosted in it.
 * `/test-worker.js?slow-downloads` puts the engine behind a slow link for GET bodies (64 KiB pieces, 20 ms apart),
 * so a test that cancels a download from the page is sure the cancel reaches the Worker while bytes are still to
 * come; at full speed a 3 MiB download on this machine can finish before the page's cancel message arrives.
 */
import { hostSigiloWorker, type WorkerScope } from '@sigilo/client-web';

const PIECE = 64 * 1024;
const GAP_MS = 20;

if (new URL(self.location.href).searchParams.has('slow-downloads')) {
  const fast = self.fetch.bind(self);
  self.fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const res = await fast(input, init);
    if ((init?.method ?? 'GET') !== 'GET' || !res.body) return res;
    const reader = res.body.getReader();
    const signal = init?.signal ?? undefined;
    const slow = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) { controller.close(); return; }
        for (let at = 0; at < value.length; at += PIECE) {
          await new Promise((r) => setTimeout(r, GAP_MS));
          if (signal?.aborted) { controller.error(new DOMException('The download was cancelled', 'AbortError')); void reader.cancel(); return; }
          controller.enqueue(value.subarray(at, at + PIECE));
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(slow, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

hostSigiloWorker(self as unknown as WorkerScope);
