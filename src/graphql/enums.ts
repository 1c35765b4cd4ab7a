/** GraphQL enums mirror the Prisma enums one to one. */
import {
  GenerationStatus,
  GenerationType,
  Intent,
  MessageRole,
  MessageStatus,
  ProjectRole,
  Role,
  UploadStatus,
} from '../generated/prisma/enums.js';
import { builder } from './builder.js';

export const RoleEnum = builder.enumType(Role, { name: 'Role' });
export const MessageRoleEnum = builder.enumType(MessageRole, { name: 'MessageRole' });
export const MessageStatusEnum = builder.enumType(MessageStatus, { name: 'MessageStatus' });
export const IntentEnum = builder.enumType(Intent, { name: 'Intent' });
export const GenerationTypeEnum = builder.enumType(GenerationType, { name: 'GenerationType' });
export const GenerationStatusEnum = builder.enumType(GenerationStatus, { name: 'GenerationStatus' });
export const ProjectRoleEnum = builder.enumType(ProjectRole, {
  name: 'ProjectRole',
  description:
    'OWNER: everything, members and deletion included. EDITOR: edits, generates, chats. VIEWER: reads, downloads, subscribes.',
});
export const UploadStatusEnum = builder.enumType(UploadStatus, {
  name: 'UploadStatus',
  description: 'PENDING: waiting for the file, or for its analysis. READY: verified and analysed. FAILED: refused (see error).',
});
