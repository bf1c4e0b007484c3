import pg from "pg";

// A pg client emits 'error' when the server ends its session (a Postgres restart sends every
// session a FATAL 57P01), and an 'error' event nobody listens to ends the process. pg-boss removes
// every listener of its LISTEN connection before ending it (on stop, and when it gives the
// connection up), so a server going down in that window ended the process: the chaos run caught a
// worker giving up a start attempt during a Postgres restart, whose stop ended pg-boss just as the
// server's goodbye arrived. A client whose listeners are all removed is being thrown away; it keeps
// one listener that drops what it still reports.

const ignore = (): void => {};
let installed = false;

/** Makes `removeAllListeners()` on any pg client leave a listener for late errors. Idempotent. */
export function absorbLateClientErrors(): void {
  if (installed) return;
  installed = true;
  const proto = pg.Client.prototype;
  const removeAll = proto.removeAllListeners;
  proto.removeAllListeners = function (this: pg.Client, event?: string | symbol) {
    removeAll.call(this, event);
    if (event === undefined || event === "error") this.on("error", ignore);
    return this;
  };
}
