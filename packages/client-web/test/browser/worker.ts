/**
 * The test's dedicated Worker script (served as /test-worker.js): the Sigilo engine hosted in it.
 * `/test-worker.js?slow-downloads` puts the engine behind a slow link for GET bodies (64 KiB pieces, 20 ms apart),
 * so a test that cancels a download from the page is sure the cancel reaches the Worker while bytes are still to
 * come; at full speed a 3 MiB download on this machine can finish before the page's cancel message arrives.
 * `?slow-uploads` does the same for PATCH bodies (a browser sends them whole, so the request waits as long as its
 * 64 KiB pieces would take, 40 ms each, before it goes, and fails as cancelled if the transfer is cancelled meanwhile):
 * a 1 MiB PATCH takes 640 ms, room for the page's cancel that the progress after the previous PATCH triggered.
 */
import { hostSigiloWorker, type WorkerScope } from '@sigilo/client-web';

const PIECE = 64 * 1024;
const GAP_MS = 20;
const UPLOAD_GAP_MS = 40;

const params = new URL(self.location.href).searchParams;
const cancelled = () => new DOMException('The transfer was cancelled', 'AbortError');

if (params.has('slow-downloads') || params.has('slow-uploads')) {
  const fast = self.fetch.bind(self);
  self.fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const method = init?.method ?? 'GET';
    const signal = init?.signal ?? undefined;
    if (method === 'PATCH' && params.has('slow-uploads')) {
      const body = init?.body;
      const length = body instanceof Blob ? body.size : ArrayBuffer.isView(body) ? body.byteLength : Number(new Headers(init?.headers).get('content-length') ?? 0);
      for (let at = 0; at < length; at += PIECE) {
        await new Promise((r) => setTimeout(r, UPLOAD_GAP_MS));
        if (signal?.aborted) throw cancelled();
      }
      return fast(input, init);
    }
    const res = await fast(input, init);
    if (method !== 'GET' || !res.body || !params.has('slow-downloads')) return res;
    const reader = res.body.getReader();
    const slow = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) { controller.close(); return; }
        for (let at = 0; at < value.length; at += PIECE) {
          await new Promise((r) => setTimeout(r, GAP_MS));
          if (signal?.aborted) { controller.error(cancelled()); void reader.cancel(); return; }
          controller.enqueue(value.subarray(at, at + PIECE));
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(slow, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

hostSigiloWorker(self as unknown as WorkerScope);
