/**
 * Who may use a project: adding, changing and removing members, and leaving. Only an OWNER manages
 * members (the access rule's `admin`); every change runs with the project row locked, so concurrent
 * changes (a role change racing a removal, two owners demoting each other) are applied one after the
 * other and a project always keeps at least one OWNER. A member who loses access (removed, or left)
 * loses their open subscriptions on the project at once, on every api instance (access-watch.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Access } from '../../access/access.js';
import type { Db, Prisma } from '../../db/client.js';
import { type Action, ROLES_FOR } from '../../access/rules.js';
import { badInput, forbidden, notFound } from '../../errors.js';
import type { Project, ProjectMember, ProjectRole } from '../../generated/prisma/client.js';
import type { PubSub } from '../../pubsub.js';
import { touchProject } from './project-events.js';
import type { Viewer } from '../auth/viewer.js';
import { parseInput } from '../../validation.js';
import { addMemberRules, PROJECT_MAX_MEMBERS } from './project.rules.js';

type Tx = Prisma.TransactionClient;

export class MemberService {
  constructor(private readonly deps: { prisma: Db; pubsub: PubSub; access: Access }) {}

  async add(viewer: Viewer, projectId: string, email: string, role: ProjectRole): Promise<ProjectMember> {
    const input = parseInput(addMemberRules, { email });
    await this.deps.access.project.require(viewer, projectId, 'admin');
    const user = await this.deps.prisma.user.findUnique({ where: { email: input.email } });
    if (!user) throw badInput('email', 'no account uses this email: they must sign up first');
    if (user.id === viewer.id) throw badInput('email', 'that is you: you are already a member');
    const member = await this.locked(viewer, projectId, 'admin', async (tx) => {
      const members = await tx.projectMember.findMany({ where: { projectId }, select: { userId: true } });
      if (members.some((m) => m.userId === user.id))
        throw badInput('email', 'already a member: change their role with updateProjectMember');
      if (members.length >= PROJECT_MAX_MEMBERS)
        throw badInput('projectId', `a project has at most ${PROJECT_MAX_MEMBERS} members; remove one first`);
      return tx.projectMember.create({ data: { projectId, userId: user.id, role } });
    });
    await touchProject(this.deps, projectId, { kind: 'MEMBER_JOINED', byUserId: viewer.id, userId: user.id });
    return member;
  }

  async update(viewer: Viewer, projectId: string, userId: string, role: ProjectRole): Promise<ProjectMember> {
    await this.deps.access.project.require(viewer, projectId, 'admin');
    const member = await this.locked(viewer, projectId, 'admin', async (tx) => {
      const current = await this.memberOf(tx, projectId, userId);
      if (current.role === 'OWNER' && role !== 'OWNER') await this.keepAnOwner(tx, projectId, 'role');
      return tx.projectMember.update({ where: { projectId_userId: { projectId, userId } }, data: { role } });
    });
    await touchProject(this.deps, projectId, { kind: 'MEMBER_ROLE_CHANGED', byUserId: viewer.id, userId });
    return member;
  }

  async remove(viewer: Viewer, projectId: string, userId: string): Promise<Project> {
    await this.deps.access.project.require(viewer, projectId, 'admin');
    await this.locked(viewer, projectId, 'admin', (tx) => this.drop(tx, projectId, userId, 'userId'));
    await this.revoked(projectId, userId);
    return touchProject(this.deps, projectId, { kind: 'MEMBER_LEFT', byUserId: viewer.id, userId });
  }

  /** The viewer leaves; the last OWNER cannot (they may hand the project over, or delete it). */
  async leave(viewer: Viewer, projectId: string): Promise<boolean> {
    await this.deps.access.project.require(viewer, projectId, 'read');
    await this.locked(viewer, projectId, 'read', (tx) => this.drop(tx, projectId, viewer.id, 'projectId'));
    await this.revoked(projectId, viewer.id);
    await touchProject(this.deps, projectId, { kind: 'MEMBER_LEFT', byUserId: viewer.id, userId: viewer.id });
    return true;
  }

  private async drop(tx: Tx, projectId: string, userId: string, field: string): Promise<void> {
    const current = await this.memberOf(tx, projectId, userId);
    if (current.role === 'OWNER') await this.keepAnOwner(tx, projectId, field);
    await tx.projectMember.delete({ where: { projectId_userId: { projectId, userId } } });
  }

  private async memberOf(tx: Tx, projectId: string, userId: string): Promise<ProjectMember> {
    const member = await tx.projectMember.findUnique({ where: { projectId_userId: { projectId, userId } } });
    if (!member) throw notFound('ProjectMember', userId);
    return member;
  }

  /** Refuses a change that would take away the project's last OWNER. */
  private async keepAnOwner(tx: Tx, projectId: string, field: string): Promise<void> {
    const owners = await tx.projectMember.count({ where: { projectId, role: 'OWNER' } });
    if (owners <= 1)
      throw badInput(field, 'a project needs at least one OWNER: make another member OWNER first, or delete the project');
  }

  /**
   * Runs `fn` with the project row locked (member changes of one project, one at a time), once the
   * viewer's own role, read under that lock, still allows `action`: an OWNER demoted by a change that
   * ran first is refused (FORBIDDEN), not let through on the check made before it.
   */
  private locked<T>(viewer: Viewer, projectId: string, action: Action, fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.deps.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM projects WHERE id = ${projectId}::uuid FOR UPDATE`;
      if (!row) throw notFound('Project', projectId); // deleted meanwhile
      const own = await tx.projectMember.findUnique({ where: { projectId_userId: { projectId, userId: viewer.id } } });
      if (!own) throw notFound('Project', projectId); // removed meanwhile
      if (!ROLES_FOR[action].includes(own.role)) throw forbidden(`You may not ${action} this Project`);
      return fn(tx);
    });
  }

  /**
   * Ends the user's open subscriptions on the project, on every api instance, before anything
   * published after it reaches them (the removal's own announcement among them).
   */
  private revoked(projectId: string, userId: string): Promise<void> {
    return this.deps.pubsub.publishAhead('projectAccessRevoked', 'all', { projectId, userId, id: randomUUID() });
  }
}
