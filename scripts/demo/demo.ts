/**
 * `npm run demo -- "make me a dark 140 bpm trap beat in F minor"`: logs in (or signs up), opens a
 * conversation, sends the message, prints the reply as it streams, shows the generation's progress
 * stage by stage and saves the MP3 (with --stems and --midi, the stems and the MIDI too).
 *
 * Options: --url (default http://localhost:4000/graphql), --out DIR (default ./out), --then "…"
 * (a follow-up in the same conversation, repeatable: "make it faster", "give me the stems"),
 * --upload FILE (a WAV, MP3, FLAC or OGG uploaded and analysed first; then "make a beat for this"
 * makes one at its tempo and key),
 * --email / --password (default DAWG_EMAIL / DAWG_PASSWORD, else a local demo account).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createDawgClient, type DawgClient, DawgError } from './client.js';
import {
  DemoChatStreamDocument,
  DemoCompleteUploadDocument,
  DemoCreateUploadDocument,
  DemoCreateConversationDocument,
  DemoCreateStemsDocument,
  DemoGenerationOutputDocument,
  DemoGenerationProgressDocument,
  DemoLogInDocument,
  DemoSendMessageDocument,
  DemoSignUpDocument,
} from './generated/graphql.js';
import { progressBar } from './progress.js';

const USAGE = `usage: npm run demo -- "make me a dark 140 bpm trap beat in F minor" [--then "make it faster" …]
                     [--upload vocal.wav] [--url URL] [--out DIR] [--stems] [--midi]
                     [--email EMAIL --password PASSWORD]`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: 'http://localhost:4000/graphql' },
    out: { type: 'string', default: './out' },
    stems: { type: 'boolean', default: false },
    midi: { type: 'boolean', default: false },
    // biome-ignore lint/suspicious/noThenProperty: the --then flag; parseArgs' options object is never awaited
    then: { type: 'string', multiple: true },
    upload: { type: 'string' },
    email: { type: 'string', default: process.env.DAWG_EMAIL ?? 'demo@dawg.local' },
    password: { type: 'string', default: process.env.DAWG_PASSWORD ?? 'dawg-demo-password' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const prompt = positionals.join(' ').trim();
if (values.help || !prompt) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 2);
}

let token: string | null = null;
const client = createDawgClient(values.url, () => token);
const say = (line: string) => process.stdout.write(`${line}\n`);

async function logIn(): Promise<void> {
  const { email, password } = values as { email: string; password: string };
  try {
    token = (await client.request(DemoLogInDocument, { email, password })).logIn.token;
    say(`logged in as ${email}`);
  } catch (err) {
    if (!(err instanceof DawgError && err.code === 'UNAUTHENTICATED')) throw err;
    try {
      token = (await client.request(DemoSignUpDocument, { email, password })).signUp.token;
      say(`signed up as ${email}`);
    } catch (signUpError) {
      if (signUpError instanceof DawgError && /already registered/.test(signUpError.message))
        throw new DawgError(
          `login failed for ${email}: wrong password (pass --email and --password for your account)`,
          'LOGIN_FAILED',
        );
      throw signUpError;
    }
  }
}

/**
 * Prints a reply as it streams. Subscribing with the message id and `fromIndex: 0` replays what was
 * streamed before the subscription started, then continues live; indexes already printed are skipped
 * (graphql-ws resubscribes with the same variables after a reconnect).
 */
function streamReply(c: DawgClient, conversationId: string, messageId: string) {
  let next = 0;
  process.stdout.write('dawg: ');
  return c.subscribe(DemoChatStreamDocument, { conversationId, messageId, fromIndex: 0 }, ({ chatStream: e }) => {
    if (e.messageId !== messageId || e.index < next) return false;
    next = e.index + 1;
    process.stdout.write(e.delta);
    if (!e.done) return false;
    process.stdout.write('\n');
    if (e.message?.status === 'FAILED') say(`(the reply failed: ${e.message.error ?? 'no reason given'})`);
    return true;
  });
}

/**
 * Follows a generation from now on (so no stage is missed while the reply is still printing);
 * `show` draws the progress bar (stages so far, then live) and returns the output, or throws with the reason.
 */
function follow(c: DawgClient, id: string) {
  type Event = { percent: number; stage: string | null };
  const seen: Event[] = [];
  let bar: ReturnType<typeof progressBar> | null = null;
  let status = 'PENDING';
  let error: string | null | undefined;
  const finished = c.subscribe(DemoGenerationProgressDocument, { id }, ({ generationProgress: p }) => {
    const event = { percent: p.percent, stage: p.stage ?? null };
    seen.push(event);
    bar?.update(event.percent, event.stage);
    status = p.generation.status;
    error = p.generation.error;
    return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(status);
  });
  return {
    async show(label: string) {
      say(`${label}:`);
      bar = progressBar(process.stdout);
      for (const e of seen) bar.update(e.percent, e.stage);
      await finished;
      bar.end();
      if (status !== 'COMPLETED') throw new DawgError(`${label}: ${status.toLowerCase()}: ${error ?? 'no reason given'}`, status);
      const { generation } = await c.request(DemoGenerationOutputDocument, { id }, 'query');
      if (!generation?.output) throw new DawgError(`${label}: finished without output`, 'NO_OUTPUT');
      return generation.output;
    },
  };
}

/** The first part of the uuid inside a Relay global id ("Generation:<uuid>", base64). */
function shortId(globalId: string): string {
  const decoded = Buffer.from(globalId, 'base64').toString('utf8');
  return (decoded.split(':')[1] ?? globalId).slice(0, 8);
}

async function download(url: string, path: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new DawgError(`download of ${path} failed: HTTP ${res.status}`, 'DOWNLOAD_FAILED');
  await writeFile(path, Buffer.from(await res.arrayBuffer()));
  return path;
}

/** One message of the conversation: send, print the reply as it streams, follow what it started, save the files. */
async function turn(conversationId: string, content: string): Promise<void> {
  say(`you: ${content}`);
  const sent = (await client.request(DemoSendMessageDocument, { conversationId, content })).sendMessage;
  const e = sent.userMessage.entities;
  const entities = e ? Object.fromEntries(Object.entries(e).filter(([k, v]) => k !== '__typename' && v != null)) : {};
  say(`understood: ${sent.userMessage.intent} ${JSON.stringify(entities)}`);
  const reply = streamReply(client, conversationId, sent.assistantMessage.id);
  const generation = sent.generation;
  const progress = generation ? follow(client, generation.id) : null;
  await reply;
  if (!generation || !progress) {
    say('Nothing to make from that message. Try: "make me a mellow 90 bpm lo-fi beat in A minor"');
    return;
  }
  const output = await progress.show(`making the ${generation.type.toLowerCase()}`);
  const dir = resolve(values.out as string);
  await mkdir(dir, { recursive: true });
  const base = join(dir, `dawg-${shortId(generation.id)}`);
  const saved = [await download(output.audioUrl, `${base}.mp3`)];
  if (values.midi && output.midiUrl) saved.push(await download(output.midiUrl, `${base}.mid`));
  let stems = output.stems;
  if (values.stems && generation.type === 'BEAT') {
    const job = (await client.request(DemoCreateStemsDocument, { generationId: generation.id })).createStems;
    stems = (await follow(client, job.id).show('splitting it into stems')).stems;
  }
  for (const stem of stems) saved.push(await download(stem.url, `${base}-${stem.name}.wav`));
  const loudness = output.loudnessLufs != null ? `, ${output.loudnessLufs.toFixed(1)} LUFS` : '';
  say(`${output.durationSec.toFixed(1)} s${loudness}; saved:`);
  for (const path of saved) say(`  ${path}`);
}

const UPLOAD_TYPES: Record<string, string> = {
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.flac': 'audio/flac',
  '.ogg': 'audio/ogg',
};

/** createUpload, PUT the file where the ticket says, completeUpload: the server decodes it and detects tempo and key. */
async function upload(path: string): Promise<void> {
  const contentType = UPLOAD_TYPES[extname(path).toLowerCase()];
  if (!contentType) throw new DawgError(`--upload takes a .wav, .mp3, .flac or .ogg file, not ${basename(path)}`, 'BAD_FILE');
  const body = await readFile(path);
  const ticket = (await client.request(DemoCreateUploadDocument, { filename: basename(path), contentType, bytes: body.length }))
    .createUpload;
  const put = await fetch(ticket.url, { method: ticket.method, headers: ticket.headers as Record<string, string>, body });
  if (!put.ok) throw new DawgError(`upload of ${basename(path)} failed: HTTP ${put.status} ${await put.text()}`, 'UPLOAD_FAILED');
  say(`uploaded ${basename(path)} (${body.length} bytes); analysing…`);
  const done = (await client.request(DemoCompleteUploadDocument, { id: ticket.upload.id })).completeUpload;
  if (done.status !== 'READY') throw new DawgError(`the upload is still ${done.status}; try again in a moment`, 'UPLOAD_PENDING');
  const loudness = done.loudnessLufs != null ? `, ${done.loudnessLufs.toFixed(1)} LUFS` : '';
  say(`analysed: ${done.durationSec?.toFixed(1)} s, ${done.bpm} bpm, ${done.key}${loudness}`);
}

async function main(): Promise<void> {
  await logIn();
  if (values.upload) await upload(values.upload);
  const { createConversation } = await client.request(DemoCreateConversationDocument, { title: prompt.slice(0, 80) });
  for (const content of [prompt, ...(values.then ?? [])]) await turn(createConversation.id, content);
}

try {
  await main();
  await client.close();
} catch (err) {
  await client.close().catch(() => {});
  const e = err instanceof DawgError ? err : new DawgError((err as Error).message, 'ERROR');
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET'].includes(e.code))
    console.error(
      `error: cannot reach the dawg server at ${values.url} (${e.code}). Start it with \`npm start\` in another terminal, or pass --url.`,
    );
  else console.error(`error: ${e.message}${e.code === 'LOGIN_FAILED' ? '' : ` [${e.code}]`}`);
  process.exit(1);
}
