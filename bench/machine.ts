// What the figures were measured on, for the header of results.md and soak.md.
import { cpus, freemem, loadavg, totalmem } from "node:os";
import { Redis } from "ioredis";
import pg from "pg";

export async function describeMachine(dbUrl: string, redisUrl: string): Promise<string> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  const { rows } = await c.query<{ server_version: string }>("SHOW server_version");
  await c.end();
  const redis = new Redis(redisUrl);
  const info = await redis.info("server");
  await redis.quit();
  const redisVersion = /^redis_version:(\S+)/m.exec(info)?.[1] ?? "unknown";
  const gib = (b: number) => (b / 2 ** 30).toFixed(0);
  return [
    `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}`,
    `${gib(totalmem())} GiB RAM (${gib(freemem())} GiB free at the start)`,
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" / ")} at the start`,
    `Node ${process.version}`,
    `PostgreSQL ${rows[0]?.server_version ?? "unknown"}`,
    `Redis ${redisVersion}`,
    "Postgres and Redis on the same machine",
  ].join(", ");
}
