import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { ensureDatabase, dropDatabase } from '../../src/db/ensure-database.js';
import { applyMigrations } from '../../src/db/schema-engine.js';
const procMs = (re: RegExp) => { let t = 0; for (const d of readdirSync('/proc')) { if (!/^\d+$/.test(d)) continue; try { const st = readFileSync(`/proc/${d}/stat`, 'utf8'); const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')); if (!re.test(comm)) continue; const f = st.slice(st.lastIndexOf(')') + 2).split(' '); t += (Number(f[11]) + Number(f[12])) * 10; } catch {} } return t; };
const url = `postgresql://postgres@127.0.0.1:5432/dawg_pgcost_${Date.now()}`;
await ensureDatabase(url); await applyMigrations(url);
const pool = new pg.Pool({ connectionString: url, max: 20 });
const uid = randomUUID(); const cid = randomUUID();
await pool.query(`insert into users (id, email, password_hash, updated_at) values ($1, $2, 'x', now())`, [uid, `${uid}@x.test`]);
await pool.query(`insert into conversations (id, user_id, updated_at) values ($1, $2, now())`, [cid, uid]);
const text = `WITH c AS (SELECT id, project_id FROM conversations WHERE id = $1 AND user_id = $2),
 m AS (INSERT INTO messages (id, conversation_id, role, content, status, intent, entities) SELECT $3::uuid, c.id, 'USER', $4, 'COMPLETE', 'CHAT', $5::jsonb FROM c RETURNING *)
 SELECT m.*, c.project_id FROM m, c`;
async function run(label: string, q: () => Promise<unknown>) {
  const n = 4000;
  for (let r = 0; r < 2; r++) {
    const p0 = procMs(/^postgres/); const c0 = process.cpuUsage(); const t0 = performance.now();
    await Promise.all(Array.from({ length: 50 }, async () => { for (let i = 0; i < n / 50; i++) await q(); }));
    const c = process.cpuUsage(c0);
    if (r) console.log(label.padEnd(28), 'postgres µs/q', ((procMs(/^postgres/) - p0) * 1000 / n).toFixed(0), 'node µs/q', ((c.user + c.system) / n).toFixed(0), 'wall µs/q', ((performance.now() - t0) * 1000 / n).toFixed(0));
  }
}
await run('cte unnamed', () => pool.query(text, [cid, uid, randomUUID(), 'hello', '{}']));
await run('cte named', () => pool.query({ name: 'x', text, values: [cid, uid, randomUUID(), 'hello', '{}'] }));
await run('select 1', () => pool.query('select 1'));
await pool.query('alter database ' + url.split('/').pop() + ' set synchronous_commit = off');
await pool.end();
const pool2 = new pg.Pool({ connectionString: url, max: 20 });
await run('cte named, sync commit off', () => pool2.query({ name: 'x', text, values: [cid, uid, randomUUID(), 'hello', '{}'] }));
const pool3 = new pg.Pool({ connectionString: url, max: 5 });
await pool2.end();
await run('cte named, off, pool 5', () => pool3.query({ name: 'x', text, values: [cid, uid, randomUUID(), 'hello', '{}'] }));
await pool3.end(); await dropDatabase(url).catch(() => {});
process.exit(0);
