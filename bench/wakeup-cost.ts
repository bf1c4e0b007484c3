// What a process's wake-up costs on this machine: an echo server in a child process answers 8-byte
// messages over loopback TCP, sent at a steady rate (the server sleeps between messages and wakes
// for each) and then all at once (it wakes once for many). The difference per message is what each
// round trip to a process that was asleep costs, beside the work it does; at a steady webhook rate
// every statement and every post is such a round trip (bench/README.md, "Mirror capacity,
// eleventh pass"). `node bench/wakeup-cost.ts` (BENCH_WAKEUP_RATES=500,2000).

import { fork } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { cpuSeconds } from "./processes.ts";

const MESSAGE = Buffer.alloc(8);

if (process.argv[2] === "echo") {
  const server = net.createServer((socket) => socket.on("data", (data) => socket.write(data)));
  server.listen(0, "127.0.0.1", () => process.send?.((server.address() as net.AddressInfo).port));
} else {
  const child = fork(fileURLToPath(import.meta.url), ["echo"]);
  const [port] = (await once(child, "message")) as [number];
  const socket = net.connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  await once(socket, "connect");

  /** Sends `n` messages at `rate` per second (all at once when 0) and waits for every echo; the
   * server's and this process's CPU per message, in microseconds. */
  async function run(rate: number, n: number): Promise<{ server: number; client: number }> {
    const serverBefore = cpuSeconds(child.pid as number);
    const clientBefore = process.cpuUsage();
    let received = 0;
    const echoed = new Promise<void>((resolve) => {
      socket.on("data", (data) => {
        received += data.length;
        if (received >= n * MESSAGE.length) resolve();
      });
    });
    const t0 = performance.now();
    for (let k = 0; k < n; k++) {
      if (rate > 0) {
        const wait = t0 + (k * 1000) / rate - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      socket.write(MESSAGE);
    }
    await echoed;
    socket.removeAllListeners("data");
    const client = process.cpuUsage(clientBefore);
    return {
      server: ((cpuSeconds(child.pid as number) - serverBefore) * 1e6) / n,
      client: (client.user + client.system) / n,
    };
  }

  const rates = (process.env.BENCH_WAKEUP_RATES ?? "500,2000").split(",").map(Number);
  await run(0, 5_000); // warm-up
  for (const rate of [...rates, 0]) {
    const n = rate > 0 ? rate * 5 : 20_000;
    const cost = await run(rate, n);
    process.stdout.write(
      `${rate > 0 ? `steady ${rate}/s` : "all at once"}: ${n} messages, CPU per message: echo server ${cost.server.toFixed(1)} µs, sender ${cost.client.toFixed(1)} µs\n`,
    );
  }
  socket.destroy();
  child.kill();
}
