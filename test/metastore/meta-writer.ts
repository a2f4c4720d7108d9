/**
 * Helper process for the kill -9 test (not a test file): opens a MetaStore on
 * argv[2] and creates streams w0, w1, ... forever, printing each name once its
 * create has resolved (i.e. is durable); deletes print "?name" before and
 * "-name" after. Snapshots often so a kill can land
 * inside a snapshot too.
 */
import { MetaStore } from '../../src/metastore/meta-store.js';

const store = await MetaStore.open(process.argv[2] as string, { snapshotEvery: 7 });
for (let i = 0; ; i++) {
  await store.createStream({ name: `w${i}`, shards: 1 + (i % 4) });
  process.stdout.write(`w${i}\n`);
  if (i % 3 === 2) {
    process.stdout.write(`?w${i - 1}\n`); // delete in flight: either outcome is allowed until acked
    await store.deleteStream('default', `w${i - 1}`);
    process.stdout.write(`-w${i - 1}\n`);
  }
}
