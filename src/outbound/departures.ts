// When a Graph call actually left this process: the moment the HTTP client's write of its request
// to the socket had returned, read from undici's diagnostics channels (the Graph client calls
// through undici's request API, src/net/request-fetch.ts; Node's fetch is undici too, and both
// publish on the same channels). The rate limiter's departure log counts calls by when they left
// (src/ratelimit/limiter.ts, GUARANTEE), and the time between a grant and that moment is not the
// caller's to bound: the gateway's own work, the HTTP client's promises, a connection being opened,
// an event loop blocked by other work all come between. Measured at the write, a late call is
// logged as late as it was.
//
// A call is matched to its caller through AsyncLocalStorage: undici creates its request inside
// the caller's fetch(), so the request's creation sees the caller's store; the write may come in
// another context (a socket freed by another request), so it is matched by the request object.
import { AsyncLocalStorage } from "node:async_hooks";
import { subscribe } from "node:diagnostics_channel";

/** One call's watch: `run` it; `onLeft` hears when its request left (after the write, in a
 * microtask of its own: nothing is added before the bytes go), and `departedAt` says it. */
export class DepartureWatch {
  #departedAt: number | undefined;
  readonly #onLeft: ((at: number) => void) | undefined;

  constructor(onLeft?: (at: number) => void) {
    this.#onLeft = onLeft;
  }

  /** Whether a request made in `run` was seen leaving. */
  get seen(): boolean {
    return this.#departedAt !== undefined;
  }

  /** Runs `fn`; the HTTP requests it makes through fetch are this watch's. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return current.run(this, fn);
  }

  /** performance.now() when the last request made in `run` had been written or, when none was
   * seen leaving (a fetch not built on undici, a request that failed before it was written), now:
   * read once `run` settled, the latest moment a call made there can have left. */
  get departedAt(): number {
    return this.#departedAt ?? performance.now();
  }

  /** @internal The request's writes to the socket returned now. */
  left(): void {
    const at = performance.now();
    this.#departedAt = at;
    const onLeft = this.#onLeft;
    if (onLeft) queueMicrotask(() => onLeft(at));
  }
}

const current = new AsyncLocalStorage<DepartureWatch>();
const watches = new WeakMap<object, DepartureWatch>();

subscribe("undici:request:create", (message) => {
  const watch = current.getStore();
  const request = (message as { request?: object }).request;
  if (watch && request) watches.set(request, watch);
});

// After the write, not before it: undici publishes `undici:client:sendHeaders` right before its
// socket write and `undici:request:bodySent` once the request's writes have returned (with an
// empty write queue, Node hands the bytes to the kernel inside the write). A time taken before the
// write is early by however long the thread is descheduled between the two, which on a loaded
// machine is milliseconds to tens of them: against a capture of the loopback with the kernel's
// timestamps (bench/README.md), departures stamped at sendHeaders were logged up to 10–40 ms before
// their packets (47–88 of about 300 calls per run by more than 1 ms, limit 20/s, load 20–30), and
// one probe run put 21 calls in 970 ms. Stamped after the write, none was (2 runs): the time is an
// upper bound of when the first byte left, as the departure log needs.
subscribe("undici:request:bodySent", (message) => {
  const request = (message as { request?: object }).request;
  if (request) watches.get(request)?.left();
});
