/** Who is calling, from a verified JWT. */
export interface Viewer {
  id: string;
  role: 'USER' | 'ADMIN';
}
