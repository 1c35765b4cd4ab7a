import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, gql, type RunningApp, signUp, startApp, type TestUser, rawId } from '../helpers/harness.js';

const CREATE =
  'mutation($n: String!, $b: Int, $k: String) { createProject(name: $n, bpm: $b, key: $k) { id name bpm key tracks { id } } }';
const ADD = `mutation($p: ID!, $g: ID!, $gain: Float, $pan: Float) {
  addTrack(projectId: $p, generationId: $g, gainDb: $gain, pan: $pan) { id name gainDb pan muted position generation { id } }
}`;
const GET = 'query($id: ID!) { project(id: $id) { id name bpm key tracks { name position muted gainDb } } }';

let api: RunningApp;
let alice: TestUser;
let bob: TestUser;
beforeAll(async () => {
  api = await startApp();
  [alice, bob] = await Promise.all([signUp(api.graphqlUrl), signUp(api.graphqlUrl)]);
});
afterAll(() => api.stop());

/** A finished generation row, as the worker leaves it (the generation API arrives with the worker). */
async function generationFor(user: TestUser) {
  const row = await api.app.prisma.generation.create({
    data: { userId: rawId(user.id), type: 'BEAT', status: 'COMPLETED', input: { genre: 'lofi', bpm: 90 }, progress: 100 },
  });
  return Buffer.from(`Generation:${row.id}`).toString('base64');
}

describe('projects', () => {
  it('creates a project and normalizes its key', async () => {
    const res = await gql(api.graphqlUrl, CREATE, { n: 'Night drive', b: 90, k: 'f#m' }, alice.token);
    expect(res.errors).toBeUndefined();
    expect(res.data.createProject).toMatchObject({ name: 'Night drive', bpm: 90, key: 'F# minor', tracks: [] });
  });

  it.each([
    [{ n: '', b: 90 }, 'name'],
    [{ n: 'x'.repeat(201) }, 'name'],
    [{ n: 'p', b: 39 }, 'bpm'],
    [{ n: 'p', b: 221 }, 'bpm'],
    [{ n: 'p', k: 'H minor' }, 'key'],
  ])('rejects %j as BAD_USER_INPUT on %s and stores nothing', async (vars, field) => {
    const mine = () => api.app.prisma.project.count({ where: { ownerId: rawId(alice.id) } });
    const before = await mine();
    const res = await gql(api.graphqlUrl, CREATE, vars, alice.token);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.extensions?.field).toBe(field);
    expect(await mine()).toBe(before);
  });

  it('rejects a wrongly typed variable as BAD_USER_INPUT', async () => {
    const res = await gql(api.graphqlUrl, CREATE, { n: 'p', b: 'fast' }, alice.token);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  it('adds, updates and removes tracks in order', async () => {
    const project = (await gql(api.graphqlUrl, CREATE, { n: 'Tracks' }, alice.token)).data.createProject;
    const gen = await generationFor(alice);
    const first = await gql(api.graphqlUrl, ADD, { p: project.id, g: gen, gain: -3, pan: -0.5 }, alice.token);
    expect(first.errors).toBeUndefined();
    expect(first.data.addTrack).toMatchObject({ gainDb: -3, pan: -0.5, muted: false, position: 0, generation: { id: gen } });
    const second = await gql(api.graphqlUrl, ADD, { p: project.id, g: gen }, alice.token);
    expect(second.data.addTrack.position).toBe(1);

    const muted = await gql(
      api.graphqlUrl,
      'mutation($id: ID!) { updateTrack(id: $id, muted: true, name: "drums") { muted name } }',
      { id: first.data.addTrack.id },
      alice.token,
    );
    expect(muted.data.updateTrack).toEqual({ muted: true, name: 'drums' });

    const removed = await gql(
      api.graphqlUrl,
      'mutation($id: ID!) { removeTrack(id: $id) }',
      { id: second.data.addTrack.id },
      alice.token,
    );
    expect(removed.data.removeTrack).toBe(second.data.addTrack.id);
    const read = await gql(api.graphqlUrl, GET, { id: project.id }, alice.token);
    expect(read.data.project.tracks).toEqual([{ name: 'drums', position: 0, muted: true, gainDb: -3 }]);
  });

  it('rejects out-of-range gain and pan, changing nothing', async () => {
    const project = (await gql(api.graphqlUrl, CREATE, { n: 'Ranges' }, alice.token)).data.createProject;
    const gen = await generationFor(alice);
    const loud = await gql(api.graphqlUrl, ADD, { p: project.id, g: gen, gain: 30 }, alice.token);
    expect(loud.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'gainDb' });
    const wide = await gql(api.graphqlUrl, ADD, { p: project.id, g: gen, pan: 2 }, alice.token);
    expect(wide.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'pan' });
    expect(await api.app.prisma.track.count({ where: { projectId: rawId(project.id) } })).toBe(0);
  });
});

describe('ownership', () => {
  it("treats another user's project, track and generation as NOT_FOUND", async () => {
    const project = (await gql(api.graphqlUrl, CREATE, { n: 'Alice', b: 100 }, alice.token)).data.createProject;
    const gen = await generationFor(alice);
    const track = (await gql(api.graphqlUrl, ADD, { p: project.id, g: gen }, alice.token)).data.addTrack;

    expect(codes(await gql(api.graphqlUrl, GET, { id: project.id }, bob.token))).toEqual(['NOT_FOUND']);
    expect(
      codes(
        await gql(
          api.graphqlUrl,
          'mutation($id: ID!) { updateProject(id: $id, bpm: 120) { id } }',
          { id: project.id },
          bob.token,
        ),
      ),
    ).toEqual(['NOT_FOUND']);
    expect(
      codes(await gql(api.graphqlUrl, 'mutation($id: ID!) { deleteProject(id: $id) }', { id: project.id }, bob.token)),
    ).toEqual(['NOT_FOUND']);
    expect(codes(await gql(api.graphqlUrl, 'mutation($id: ID!) { removeTrack(id: $id) }', { id: track.id }, bob.token))).toEqual([
      'NOT_FOUND',
    ]);
    expect(codes(await gql(api.graphqlUrl, 'query($id: ID!) { generation(id: $id) { id } }', { id: gen }, bob.token))).toEqual([
      'NOT_FOUND',
    ]);

    // Bob cannot put Alice's generation into his own project either.
    const bobs = (await gql(api.graphqlUrl, CREATE, { n: 'Bob' }, bob.token)).data.createProject;
    expect(codes(await gql(api.graphqlUrl, ADD, { p: bobs.id, g: gen }, bob.token))).toEqual(['NOT_FOUND']);

    const intact = await gql(api.graphqlUrl, GET, { id: project.id }, alice.token);
    expect(intact.data.project).toMatchObject({ bpm: 100, tracks: [{ position: 0 }] });
  });

  it('lists only your own generations, filtered by status', async () => {
    const user = await signUp(api.graphqlUrl);
    await generationFor(user);
    await generationFor(alice);
    const res = await gql(
      api.graphqlUrl,
      '{ generations(status: COMPLETED) { edges { node { status type input } } } }',
      {},
      user.token,
    );
    expect(res.data.generations.edges).toEqual([
      { node: { status: 'COMPLETED', type: 'BEAT', input: { genre: 'lofi', bpm: 90 } } },
    ]);
    const none = await gql(api.graphqlUrl, '{ generations(status: FAILED) { edges { node { id } } } }', {}, user.token);
    expect(none.data.generations.edges).toEqual([]);
  });

  it('holds at most 100 tracks: the 101st is BAD_USER_INPUT and writes nothing', async () => {
    const project = await gql(api.graphqlUrl, CREATE, { n: 'Full' }, alice.token);
    const projectId = project.data.createProject.id as string;
    const gen = await generationFor(alice);
    await api.app.prisma.track.createMany({
      data: Array.from({ length: 100 }, (_, i) => ({
        projectId: rawId(projectId),
        generationId: rawId(gen),
        name: `t${i}`,
        position: i,
      })),
    });
    const res = await gql(api.graphqlUrl, ADD, { p: projectId, g: gen }, alice.token);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.message).toMatch(/at most 100 tracks/);
    expect(await api.app.prisma.track.count({ where: { projectId: rawId(projectId) } })).toBe(100);
  });
});
