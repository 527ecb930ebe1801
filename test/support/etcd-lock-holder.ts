// A process that takes a group-wide lock (cluster/lock.ts) and holds it until it is killed:
// argv endpoints, lock name, lease TTL in seconds. Prints "held" once it has the lock.

import { EtcdClient } from '../../repo-server/cluster/etcd-client.js';
import { EtcdLocks } from '../../repo-server/cluster/lock.js';

const [endpoints, name, ttl] = process.argv.slice(2);
if (!endpoints || !name || !ttl) throw new Error('usage: etcd-lock-holder.js <endpoints> <lock name> <ttl seconds>');
const locks = new EtcdLocks(new EtcdClient({ endpoints: endpoints.split(',') }), { ttlSeconds: Number(ttl) });
await locks.run(name, async () => {
  process.stdout.write('held\n');
  await new Promise(() => setInterval(() => undefined, 1 << 30));
});
