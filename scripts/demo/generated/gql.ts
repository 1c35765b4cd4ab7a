/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation DemoLogIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation DemoSignUp($email: String!, $password: String!) {\n  signUp(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation DemoCreateConversation($title: String) {\n  createConversation(title: $title) {\n    id\n  }\n}\n\nmutation DemoSendMessage($conversationId: ID!, $content: String!) {\n  sendMessage(conversationId: $conversationId, content: $content) {\n    userMessage {\n      id\n      intent\n      entities {\n        genre\n        bpm\n        key\n        mood\n        durationSec\n      }\n    }\n    assistantMessage {\n      id\n    }\n    generation {\n      id\n      type\n      status\n    }\n  }\n}\n\nmutation DemoCreateStems($generationId: ID!) {\n  createStems(generationId: $generationId) {\n    id\n    type\n    status\n  }\n}\n\nsubscription DemoChatStream($conversationId: ID!, $fromIndex: Int, $messageId: ID) {\n  chatStream(\n    conversationId: $conversationId\n    fromIndex: $fromIndex\n    messageId: $messageId\n  ) {\n    messageId\n    index\n    delta\n    done\n    message {\n      status\n      error\n      provider\n    }\n  }\n}\n\nsubscription DemoGenerationProgress($id: ID!) {\n  generationProgress(id: $id) {\n    percent\n    stage\n    generation {\n      id\n      status\n      error\n    }\n  }\n}\n\nquery DemoGenerationOutput($id: ID!) {\n  generation(id: $id) {\n    id\n    status\n    error\n    output {\n      audioUrl\n      midiUrl\n      durationSec\n      loudnessLufs\n      stems {\n        name\n        url\n      }\n    }\n  }\n}": typeof types.DemoLogInDocument,
};
const documents: Documents = {
    "mutation DemoLogIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation DemoSignUp($email: String!, $password: String!) {\n  signUp(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation DemoCreateConversation($title: String) {\n  createConversation(title: $title) {\n    id\n  }\n}\n\nmutation DemoSendMessage($conversationId: ID!, $content: String!) {\n  sendMessage(conversationId: $conversationId, content: $content) {\n    userMessage {\n      id\n      intent\n      entities {\n        genre\n        bpm\n        key\n        mood\n        durationSec\n      }\n    }\n    assistantMessage {\n      id\n    }\n    generation {\n      id\n      type\n      status\n    }\n  }\n}\n\nmutation DemoCreateStems($generationId: ID!) {\n  createStems(generationId: $generationId) {\n    id\n    type\n    status\n  }\n}\n\nsubscription DemoChatStream($conversationId: ID!, $fromIndex: Int, $messageId: ID) {\n  chatStream(\n    conversationId: $conversationId\n    fromIndex: $fromIndex\n    messageId: $messageId\n  ) {\n    messageId\n    index\n    delta\n    done\n    message {\n      status\n      error\n      provider\n    }\n  }\n}\n\nsubscription DemoGenerationProgress($id: ID!) {\n  generationProgress(id: $id) {\n    percent\n    stage\n    generation {\n      id\n      status\n      error\n    }\n  }\n}\n\nquery DemoGenerationOutput($id: ID!) {\n  generation(id: $id) {\n    id\n    status\n    error\n    output {\n      audioUrl\n      midiUrl\n      durationSec\n      loudnessLufs\n      stems {\n        name\n        url\n      }\n    }\n  }\n}": types.DemoLogInDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation DemoLogIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation DemoSignUp($email: String!, $password: String!) {\n  signUp(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation DemoCreateConversation($title: String) {\n  createConversation(title: $title) {\n    id\n  }\n}\n\nmutation DemoSendMessage($conversationId: ID!, $content: String!) {\n  sendMessage(conversationId: $conversationId, content: $content) {\n    userMessage {\n      id\n      intent\n      entities {\n        genre\n        bpm\n        key\n        mood\n        durationSec\n      }\n    }\n    assistantMessage {\n      id\n    }\n    generation {\n      id\n      type\n      status\n    }\n  }\n}\n\nmutation DemoCreateStems($generationId: ID!) {\n  createStems(generationId: $generationId) {\n    id\n    type\n    status\n  }\n}\n\nsubscription DemoChatStream($conversationId: ID!, $fromIndex: Int, $messageId: ID) {\n  chatStream(\n    conversationId: $conversationId\n    fromIndex: $fromIndex\n    messageId: $messageId\n  ) {\n    messageId\n    index\n    delta\n    done\n    message {\n      status\n      error\n      provider\n    }\n  }\n}\n\nsubscription DemoGenerationProgress($id: ID!) {\n  generationProgress(id: $id) {\n    percent\n    stage\n    generation {\n      id\n      status\n      error\n    }\n  }\n}\n\nquery DemoGenerationOutput($id: ID!) {\n  generation(id: $id) {\n    id\n    status\n    error\n    output {\n      audioUrl\n      midiUrl\n      durationSec\n      loudnessLufs\n      stems {\n        name\n        url\n      }\n    }\n  }\n}"): (typeof documents)["mutation DemoLogIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation DemoSignUp($email: String!, $password: String!) {\n  signUp(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation DemoCreateConversation($title: String) {\n  createConversation(title: $title) {\n    id\n  }\n}\n\nmutation DemoSendMessage($conversationId: ID!, $content: String!) {\n  sendMessage(conversationId: $conversationId, content: $content) {\n    userMessage {\n      id\n      intent\n      entities {\n        genre\n        bpm\n        key\n        mood\n        durationSec\n      }\n    }\n    assistantMessage {\n      id\n    }\n    generation {\n      id\n      type\n      status\n    }\n  }\n}\n\nmutation DemoCreateStems($generationId: ID!) {\n  createStems(generationId: $generationId) {\n    id\n    type\n    status\n  }\n}\n\nsubscription DemoChatStream($conversationId: ID!, $fromIndex: Int, $messageId: ID) {\n  chatStream(\n    conversationId: $conversationId\n    fromIndex: $fromIndex\n    messageId: $messageId\n  ) {\n    messageId\n    index\n    delta\n    done\n    message {\n      status\n      error\n      provider\n    }\n  }\n}\n\nsubscription DemoGenerationProgress($id: ID!) {\n  generationProgress(id: $id) {\n    percent\n    stage\n    generation {\n      id\n      status\n      error\n    }\n  }\n}\n\nquery DemoGenerationOutput($id: ID!) {\n  generation(id: $id) {\n    id\n    status\n    error\n    output {\n      audioUrl\n      midiUrl\n      durationSec\n      loudnessLufs\n      stems {\n        name\n        url\n      }\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;