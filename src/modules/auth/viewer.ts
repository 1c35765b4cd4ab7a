/** Who is calling, from a verified JWT. */
export interface Viewer {
  id: string;
  role: 'USER' | 'ADMIN';
  /** The token this viewer came from (logOut revokes it); absent for tokens signed before token ids. */
  session?: { tokenId: string; expiresAt: number };
}
