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
    "mutation SignUp($email: String!, $password: String!) {\n  signUp(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n      role\n    }\n  }\n}\n\nmutation GenerateBeat($input: GenerateBeatInput!) {\n  generateBeat(input: $input) {\n    id\n    status\n    stage\n    progress\n  }\n}\n\nquery GenerationResult($id: ID!) {\n  generation(id: $id) {\n    id\n    status\n    progress\n    stage\n    error\n    output {\n      audioUrl\n      wavUrl\n      midiUrl\n      durationSec\n      loudnessLufs\n      truePeakDb\n      stems {\n        name\n        url\n      }\n    }\n  }\n}\n\nsubscription GenerationProgress($id: ID!) {\n  generationProgress(id: $id) {\n    percent\n    stage\n    generation {\n      id\n      status\n    }\n  }\n}": typeof types.SignUpDocument,
};
const documents: Documents = {
    "mutation SignUp($email: String!, $password: String!) {\n  signUp(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n      role\n    }\n  }\n}\n\nmutation GenerateBeat($input: GenerateBeatInput!) {\n  generateBeat(input: $input) {\n    id\n    status\n    stage\n    progress\n  }\n}\n\nquery GenerationResult($id: ID!) {\n  generation(id: $id) {\n    id\n    status\n    progress\n    stage\n    error\n    output {\n      audioUrl\n      wavUrl\n      midiUrl\n      durationSec\n      loudnessLufs\n      truePeakDb\n      stems {\n        name\n        url\n      }\n    }\n  }\n}\n\nsubscription GenerationProgress($id: ID!) {\n  generationProgress(id: $id) {\n    percent\n    stage\n    generation {\n      id\n      status\n    }\n  }\n}": types.SignUpDocument,
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
export function graphql(source: "mutation SignUp($email: String!, $password: String!) {\n  signUp(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n      role\n    }\n  }\n}\n\nmutation GenerateBeat($input: GenerateBeatInput!) {\n  generateBeat(input: $input) {\n    id\n    status\n    stage\n    progress\n  }\n}\n\nquery GenerationResult($id: ID!) {\n  generation(id: $id) {\n    id\n    status\n    progress\n    stage\n    error\n    output {\n      audioUrl\n      wavUrl\n      midiUrl\n      durationSec\n      loudnessLufs\n      truePeakDb\n      stems {\n        name\n        url\n      }\n    }\n  }\n}\n\nsubscription GenerationProgress($id: ID!) {\n  generationProgress(id: $id) {\n    percent\n    stage\n    generation {\n      id\n      status\n    }\n  }\n}"): (typeof documents)["mutation SignUp($email: String!, $password: String!) {\n  signUp(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n      role\n    }\n  }\n}\n\nmutation GenerateBeat($input: GenerateBeatInput!) {\n  generateBeat(input: $input) {\n    id\n    status\n    stage\n    progress\n  }\n}\n\nquery GenerationResult($id: ID!) {\n  generation(id: $id) {\n    id\n    status\n    progress\n    stage\n    error\n    output {\n      audioUrl\n      wavUrl\n      midiUrl\n      durationSec\n      loudnessLufs\n      truePeakDb\n      stems {\n        name\n        url\n      }\n    }\n  }\n}\n\nsubscription GenerationProgress($id: ID!) {\n  generationProgress(id: $id) {\n    percent\n    stage\n    generation {\n      id\n      status\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;