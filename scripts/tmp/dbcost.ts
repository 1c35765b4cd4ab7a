import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { ensureDatabase, dropDatabase } from '../../src/db/ensure-database.js';
import { applyMigrations } from '../../src/db/schema-engine.js';
const url = `postgresql://postgres@127.0.0.1:5432/dawg_dbcost_${Date.now()}`;
await ensureDatabase(url); await applyMigrations(url);
const pool = new pg.Pool({ connectionString: url, max: 20 });
const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
const user = await prisma.user.create({ data: { email: `x${Date.now()}@e.t`, passwordHash: 'x' } });
const conv = await prisma.conversation.create({ data: { userId: user.id } });
async function measure(name: string, fn: () => Promise<unknown>, n = 2000) {
  for (let r = 0; r < 2; r++) {
    const c0 = process.cpuUsage(); const t0 = performance.now();
    await Promise.all(Array.from({ length: 20 }, async () => { for (let i = 0; i < n / 20; i++) await fn(); }));
    const c = process.cpuUsage(c0);
    if (r) console.log(name.padEnd(30), 'cpu µs/op', ((c.user + c.system) / n).toFixed(0), 'wall µs/op', ((performance.now() - t0) * 1000 / n).toFixed(0));
  }
}
await measure('prisma findFirst', () => prisma.conversation.findFirst({ where: { id: conv.id, userId: user.id } }));
await measure('prisma message.create', () => prisma.message.create({ data: { conversationId: conv.id, role: 'USER', content: 'hello there', status: 'COMPLETE', intent: 'CHAT', entities: {} } }));
await measure('prisma $queryRaw insert', () => prisma.$queryRaw`insert into messages (id, conversation_id, role, content, status, intent, entities) values (${randomUUID()}::uuid, ${conv.id}::uuid, 'USER', 'hello there', 'COMPLETE', 'CHAT', ${'{}'}::jsonb) returning *`);
await measure('pg insert', () => pool.query(`insert into messages (id, conversation_id, role, content, status, intent, entities) values ($1, $2, 'USER', 'hello there', 'COMPLETE', 'CHAT', $3) returning *`, [randomUUID(), conv.id, '{}']));
await measure('pg select', () => pool.query('select * from conversations where id = $1 and user_id = $2', [conv.id, user.id]));
await prisma.$disconnect(); await pool.end().catch(() => {}); await dropDatabase(url);
