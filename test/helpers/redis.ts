/** The Redis the tests share: the machine's on 6379, TEST_REDIS_URL, or the private one that the
 * global set-up started when neither answered (it sets TEST_REDIS_URL before the workers fork). */
export const DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379";

/** The shared test Redis, on logical database `db` when given (tests that flush theirs use one of their own). */
export function testRedisUrl(db?: number): string {
  const url = new URL(process.env.TEST_REDIS_URL ?? DEFAULT_TEST_REDIS_URL);
  if (db !== undefined) url.pathname = `/${db}`;
  return url.toString();
}
