/** Uploading as a client does: createUpload, PUT the bytes to the ticket's URL, completeUpload. */
import { request } from 'node:http';
import { gql } from './harness.js';

export const UPLOAD_FIELDS =
  'id status filename contentType bytes durationSec sampleRate channels bpm key loudnessLufs error audioUrl';
export const CREATE = `mutation($filename: String!, $contentType: String!, $bytes: Int!, $projectId: ID) {
  createUpload(filename: $filename, contentType: $contentType, bytes: $bytes, projectId: $projectId) {
    url method headers expiresAt upload { ${UPLOAD_FIELDS} }
  }
}`;
export const COMPLETE = `mutation($id: ID!) { completeUpload(id: $id) { ${UPLOAD_FIELDS} } }`;

/** An upload as UPLOAD_FIELDS reads it. */
export interface UploadState {
  id: string;
  status: string;
  filename: string;
  contentType: string;
  bytes: number;
  durationSec: number;
  sampleRate: number;
  channels: number;
  bpm: number;
  key: string;
  loudnessLufs: number;
  error: string | null;
  audioUrl: string;
}

export interface Ticket {
  url: string;
  method: string;
  headers: Record<string, string>;
  upload: { id: string };
}

/**
 * PUTs `body` as the ticket says. `chunked` sends it without a content-length (in pieces), as a
 * streaming client would; the answer is read whatever the server does with the rest of the body.
 */
export function putFile(
  ticket: Ticket,
  body: Buffer,
  options: { chunked?: boolean } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(ticket.url);
    const headers: Record<string, string | number> = { ...ticket.headers };
    if (!options.chunked) headers['content-length'] = body.length;
    const req = request(url, { method: ticket.method, headers }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    // The server may answer and close before the body is sent (413): that answer is the result.
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    if (!options.chunked) {
      req.end(body);
      return;
    }
    let at = 0;
    const next = () => {
      if (at >= body.length) return void req.end();
      const piece = body.subarray(at, at + 16_384);
      at += piece.length;
      if (req.write(piece)) setImmediate(next);
      else req.once('drain', next);
    };
    next();
  });
}

/** createUpload's ticket (throws on any error). */
export async function createTicket(
  graphqlUrl: string,
  token: string,
  args: { filename: string; contentType: string; bytes: number },
): Promise<Ticket & { expiresAt: string }> {
  const created = await gql(graphqlUrl, CREATE, args, token);
  if (created.errors) throw new Error(`createUpload: ${JSON.stringify(created.errors)}`);
  return created.data.createUpload;
}

/** createUpload → PUT → completeUpload; the completed upload (throws on any error). */
export async function uploadFile(
  graphqlUrl: string,
  token: string,
  body: Buffer,
  filename: string,
  contentType: string,
): Promise<UploadState> {
  const ticket = await createTicket(graphqlUrl, token, { filename, contentType, bytes: body.length });
  const put = await putFile(ticket, body);
  if (put.status !== 201 && put.status !== 200) throw new Error(`PUT ${put.status}: ${put.text}`);
  const done = await gql(graphqlUrl, COMPLETE, { id: ticket.upload.id }, token);
  if (done.errors) throw new Error(`completeUpload: ${JSON.stringify(done.errors)}`);
  return done.data.completeUpload;
}
