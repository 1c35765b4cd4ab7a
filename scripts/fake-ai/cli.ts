/**
 * `npm run fake-ai [-- --port 4010 --fail anthropic]`: the loopback server the tests use, speaking the
 * OpenAI, Anthropic and Gemini streaming formats, for trying the provider chain without API keys.
 * `--fail NAME` (repeatable) makes that provider answer HTTP 500, to watch the fallback.
 */
import { parseArgs } from 'node:util';
import { startFakeAi } from './server.js';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '4010' }, fail: { type: 'string', multiple: true, default: [] } },
});
const fake = await startFakeAi(Number(values.port));
for (const name of values.fail) {
  if (name !== 'openai' && name !== 'anthropic' && name !== 'google') throw new Error(`--fail: unknown provider ${name}`);
  fake.script(name, { status: 500 }, { status: 500 });
}
const env = {
  AI_PROVIDERS: 'anthropic,openai,google,local',
  ANTHROPIC_API_KEY: 'fake',
  OPENAI_API_KEY: 'fake',
  GOOGLE_API_KEY: 'fake',
  ...fake.env,
};
console.log(
  `fake AI providers on ${fake.url}${values.fail.length ? ` (failing: ${values.fail.join(', ')})` : ''}; start dawg with:\n`,
);
console.log(
  `${Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')} npm start\n`,
);
let seen = 0;
setInterval(() => {
  for (const r of fake.requests.slice(seen)) console.log(`${r.provider} ${r.kind}`);
  seen = fake.requests.length;
}, 200);
