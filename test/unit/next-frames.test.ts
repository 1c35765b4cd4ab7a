import { type ExecutionResult, GraphQLError, Source } from 'graphql';
import { MessageType, parseMessage, stringifyMessage } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import { nextFrame, nextPayload } from '../../src/transport/next-frames.js';

/** The message a `next` frame carries, after its WebSocket header (test/unit/text-frames.test.ts reads those). */
function message(frame: Buffer): string {
  const length = frame[1];
  return frame.subarray(length === 127 ? 10 : length === 126 ? 4 : 2).toString();
}

/** What graphql-ws's server sends for `result` on operation `id` (its emit.next, without an onNext hook). */
function graphqlWsNext(id: string, result: ExecutionResult): string {
  const { errors, ...resultWithoutErrors } = result;
  return stringifyMessage({
    id,
    type: MessageType.Next,
    payload: { ...resultWithoutErrors, ...(errors ? { errors: errors.map((e) => e.toJSON()) } : {}) },
  });
}

const located = new GraphQLError('Conversation not found', {
  source: new Source('subscription { messageAdded(conversationId: "x") { id } }'),
  positions: [15],
  path: ['messageAdded', 'conversation'],
  extensions: { code: 'NOT_FOUND' },
});

const results: [string, ExecutionResult][] = [
  ['data only', { data: { messageAdded: { id: 'TWVzc2FnZTox', content: 'make me a lofi beat', createdAt: new Date(0) } } }],
  ['errors before data, as graphql-js orders them', { errors: [located], data: { messageAdded: null } }],
  [
    'errors without data',
    { errors: [new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })] },
  ],
  ['extensions', { data: { a: 1 }, extensions: { cost: { requested: 3 } } }],
  ['errors: undefined before data', { errors: undefined, data: { a: 1 } }],
  ['errors: null', { data: { a: 1 }, errors: null as unknown as undefined }],
  ['text outside ASCII', { data: { messageAdded: { content: 'naïve ♪ 🎧 "quoted" \\ \u2028 line' } } }],
];

describe('next frames of shared streams', () => {
  it.each(results)('are byte for byte what graphql-ws sends: %s', (_name, result) => {
    const payload = nextPayload(result);
    for (const id of ['1', 'a1b2c3d4-0000-4000-8000-000000000000', 'quote " and ünïcode 🎧']) {
      expect(message(nextFrame(id, payload))).toBe(graphqlWsNext(id, result));
    }
  });

  it('parse as valid graphql-ws next messages', () => {
    const frame = message(nextFrame('x', nextPayload(results[1]?.[1] as ExecutionResult)));
    expect(parseMessage(frame)).toMatchObject({
      id: 'x',
      type: 'next',
      payload: {
        data: { messageAdded: null },
        errors: [{ message: 'Conversation not found', extensions: { code: 'NOT_FOUND' } }],
      },
    });
  });
});
