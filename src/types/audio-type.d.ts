declare module 'audio-type' {
  /** The audio format the bytes start with ('wav', 'mp3', 'flac', 'oga', 'opus', …), or undefined. */
  export default function audioType(buf: Uint8Array | ArrayBuffer): string | undefined;
}
