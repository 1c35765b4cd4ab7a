/** The demo client (`npm run demo`) as a user runs it: a real process against a real api and worker. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAi } from '../../scripts/fake-ai/server.js';
import { measure } from '../helpers/audio.js';
import { freePort, gql } from '../helpers/harness.js';
import { type Stack, startStack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ CHAT_CHUNK_DELAY_MS: '5' });
});
afterAll(() => stack.stop());

function demo(args: string[], timeout = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/demo/demo.ts', ...args],
      { timeout, env: { PATH: process.env.PATH ?? '' } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run demo', () => {
  it('makes a beat from a sentence: streamed reply, progress by stage, a playable MP3, MIDI and stems', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dawg-demo-'));
    const email = `demo-${Date.now()}@example.test`;
    const account = ['--url', stack.api.graphqlUrl, '--out', out, '--email', email, '--password', 'demo password 123'];
    const r = await demo(['make me a dark 140 bpm trap beat in F minor, 8 seconds', ...account, '--midi', '--stems']);
    expect(r.stderr, r.stdout).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`signed up as ${email}`);
    expect(r.stdout).toContain(
      'understood: GENERATE_BEAT {"genre":"trap","bpm":140,"key":"F minor","mood":"dark","durationSec":8}',
    );
    expect(r.stdout).toMatch(/dawg: On it: a dark trap beat at 140 bpm in F minor/);
    // Progress arrives stage by stage (not a terminal here: one line per stage) up to done.
    // (The beat's progress is followed from sendMessage on; the first event is its state at that moment.)
    const beatProgress = (r.stdout.split('making the beat:\n')[1] ?? '').split('splitting it into stems:')[0] ?? '';
    const stages = beatProgress.match(/^\s+\d+% .+$/gm) ?? [];
    expect(stages.length).toBeGreaterThanOrEqual(4);
    expect(stages.at(-1)).toMatch(/100% done/);
    expect(beatProgress).toMatch(/% encoding\n/);
    const saved = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('  /'))
      .map((l) => l.trim());
    expect(saved.map((p) => p.slice(p.lastIndexOf('.')))).toEqual(['.mp3', '.mid', '.wav', '.wav', '.wav', '.wav']);
    for (const p of saved) expect(existsSync(p)).toBe(true);
    const mp3 = measure(saved[0] as string);
    // 8 s asked for at 140 bpm: 5 whole bars, 8.57 s.
    expect(mp3.durationSec).toBeGreaterThan(8.4);
    expect(mp3.durationSec).toBeLessThan(8.8);
    expect(mp3.integratedLufs).toBeGreaterThan(-15.5);

    // The same account logs in the next time; follow-ups go to the same conversation.
    const again = await demo([
      'make me an 8 second house beat at 120 bpm',
      '--then',
      'make it faster',
      '--then',
      'hello',
      ...account,
    ]);
    expect(again.stderr, again.stdout).toBe('');
    expect(again.stdout).toContain(`logged in as ${email}`);
    expect(again.stdout).toMatch(/you: make it faster\nunderstood: GENERATE_BEAT \{\}\ndawg: On it: a \w+ house beat at 132 bpm/);
    expect(again.stdout.match(/\.mp3\n/g), again.stdout).toHaveLength(2);
    expect(again.stdout).toContain('Nothing to make from that message');
  });

  it('works the same through AI providers, falling back when one fails (loopback fake, as `npm run fake-ai`)', async () => {
    const fake = await startFakeAi();
    fake.script('anthropic', { status: 500 }, { status: 500 });
    const providers = await startStack({
      ...fake.env,
      AI_PROVIDERS: 'anthropic,openai,local',
      ANTHROPIC_API_KEY: 'fake',
      OPENAI_API_KEY: 'fake',
      CHAT_CHUNK_DELAY_MS: '5',
    });
    try {
      const out = mkdtempSync(join(tmpdir(), 'dawg-demo-'));
      const r = await demo([
        'make me a mellow 90 bpm lo-fi beat in A minor, 8 seconds',
        '--then',
        'same but in D minor',
        '--url',
        providers.api.graphqlUrl,
        '--out',
        out,
        '--email',
        `fake-${Date.now()}@example.test`,
      ]);
      expect(r.stderr, r.stdout).toBe('');
      expect(r.stdout).toContain('dawg: (openai, loopback fake) On it: a mellow lofi beat at 90 bpm in A minor, 8 seconds long.');
      expect(r.stdout).toContain('dawg: (openai, loopback fake) On it: a mellow lofi beat at 90 bpm in D minor, 8 seconds long.');
      expect(r.stdout.match(/\.mp3\n/g)).toHaveLength(2);
      // Anthropic failed the first intent, the first reply and the second intent: three in a row open its
      // circuit (AI_BREAKER_FAILURES), so the second reply goes straight to OpenAI.
      expect(fake.requests.map((q) => `${q.provider} ${q.kind}`)).toEqual([
        'anthropic intent',
        'openai intent',
        'anthropic reply',
        'openai reply',
        'anthropic intent',
        'openai intent',
        'openai reply',
      ]);
    } finally {
      await providers.stop();
      await fake.close();
    }
  });

  it('uploads a file, then makes a beat that fits it (--upload); a file that is not audio is refused in one line', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dawg-demo-upload-'));
    const account = [
      '--url',
      stack.api.graphqlUrl,
      '--out',
      out,
      '--email',
      `up-${Date.now()}@example.test`,
      '--password',
      'demo password 123',
    ];
    // A vocal stand-in: a beat the server made, at 96 bpm in E minor, saved as WAV.
    const made = await demo(['make me a 10 second hiphop beat at 96 bpm in E minor', ...account]);
    expect(made.code, made.stderr).toBe(0);
    const row = await stack.api.app.prisma.generation.findFirstOrThrow({
      where: { type: 'BEAT', status: 'COMPLETED' },
      orderBy: { createdAt: 'desc' },
    });
    const vocal = join(out, 'vocal.wav');
    writeFileSync(vocal, await stack.api.app.services.storage.get((row.output as { files: { wav: string } }).files.wav));

    const r = await demo(['make a beat for this', '--upload', vocal, ...account]);
    expect(r.stderr, r.stdout).toBe('');
    expect(r.code).toBe(0);
    const analysed = /analysed: 10\.\d s, ([\d.]+) bpm, ([A-G][#b]? (?:major|minor)), -1\d\.\d LUFS/.exec(r.stdout);
    expect(analysed, r.stdout).not.toBeNull();
    const [, bpm, key] = analysed as RegExpExecArray;
    expect(r.stdout).toContain(`at ${Math.round(Number(bpm))} bpm in ${key}`);
    expect(r.stdout).toMatch(/\.mp3\n/);

    const text = join(out, 'not-audio.wav');
    writeFileSync(text, 'just some text, not a recording '.repeat(50));
    const bad = await demo(['make a beat for this', '--upload', text, ...account]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe(
      'error: id: the upload failed: the file is not audio we can read: send WAV, MP3, FLAC or OGG [BAD_USER_INPUT]',
    );
  }, 90_000);

  it('says clearly when the server is not running', async () => {
    const url = `http://127.0.0.1:${await freePort()}/graphql`;
    const r = await demo(['make me a beat', '--url', url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach the dawg server at ${url} (ECONNREFUSED)`);
    expect(r.stderr).toContain('npm start');
  });

  it('says clearly when the login fails', async () => {
    const email = `taken-${Date.now()}@example.test`;
    await gql(stack.api.graphqlUrl, 'mutation($e: String!) { signUp(email: $e, password: "the right password") { token } }', {
      e: email,
    });
    const r = await demo(['make me a beat', '--url', stack.api.graphqlUrl, '--email', email, '--password', 'a wrong password']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `error: login failed for ${email}: wrong password (pass --email and --password for your account)`,
    );
  });
});
