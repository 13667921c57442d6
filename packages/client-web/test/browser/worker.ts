/** The test's dedicated Worker script (served as /test-worker.js): the Sigilo engine hosted in it. */
import { hostSigiloWorker, type WorkerScope } from '@sigilo/client-web';

hostSigiloWorker(self as unknown as WorkerScope);
