/** Imports every module's types and fields, then builds the schema. */
import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.js';
import './enums.js';
import './node.js';
import '../modules/users/user.schema.js';
import '../modules/auth/auth.schema.js';
import '../modules/projects/project.schema.js';
import '../modules/projects/member.schema.js';
import '../modules/projects/project-events.schema.js';
import '../modules/conversations/conversation.schema.js';
import '../modules/messages/message.schema.js';
import '../modules/generations/generation.schema.js';
import '../modules/chat/chat.schema.js';
import '../modules/usage/usage.schema.js';
import '../modules/uploads/upload.schema.js';

export const schema = builder.toSchema();

/** The SDL committed at schema/schema.graphql (sorted, so diffs stay stable). */
export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
