import { randomUUID } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenerateBeatDocument, GenerationResultDocument, SignUpDocument } from '../generated/graphql.js';
import { type Stack, startStack } from '../helpers/stack.js';

/** A minimal typed client over the generated documents: results and variables are checked by tsc. */
async function request<R, V>(url: string, doc: TypedDocumentNode<R, V>, variables: V, token?: string): Promise<R> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: print(doc), variables }),
  });
  const body = (await res.json()) as { data?: R; errors?: unknown[] };
  if (!body.data || body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

describe('generated typed documents', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it('sign up and make a beat through the codegen output', async () => {
    const url = stack.api.graphqlUrl;
    const { signUp } = await request(url, SignUpDocument, {
      email: `typed-${randomUUID()}@example.test`,
      password: 'typed client pw',
    });
    expect(signUp.user.role).toBe('USER');
    const { generateBeat } = await request(
      url,
      GenerateBeatDocument,
      { input: { genre: 'ambient', bpm: 70, key: 'D major', durationSec: 5 } },
      signUp.token,
    );
    expect(generateBeat.status).toBe('PENDING');
    let status = generateBeat.status;
    for (let i = 0; i < 200 && status !== 'COMPLETED' && status !== 'FAILED'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const { generation } = await request(url, GenerationResultDocument, { id: generateBeat.id }, signUp.token);
      status = generation?.status ?? status;
      if (status === 'COMPLETED') expect(generation?.output?.audioUrl).toMatch(/^http/);
    }
    expect(status).toBe('COMPLETED');
  });
});
