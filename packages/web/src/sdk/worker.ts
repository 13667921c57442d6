/** The dedicated Worker that runs the Sigilo engine (keys, ratchets, the encrypted store); the page only talks to it. */
import { hostSigiloWorker, type WorkerScope } from '@sigilo/client-web';

hostSigiloWorker(self as unknown as WorkerScope);
