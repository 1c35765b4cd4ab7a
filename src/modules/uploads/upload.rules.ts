/** What createUpload accepts: the audio types we decode, a filename to show, and a size within the limit. */
import { z } from 'zod';

/** Accepted content types → the format they declare (and the stored object's extension). Read with uploadFormat. */
const UPLOAD_TYPES: Record<string, UploadFormat> = {
  'audio/wav': 'wav',
  'audio/wave': 'wav',
  'audio/x-wav': 'wav',
  'audio/vnd.wave': 'wav',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
  'audio/ogg': 'ogg',
  'audio/vorbis': 'ogg',
  'application/ogg': 'ogg',
};
export type UploadFormat = 'wav' | 'mp3' | 'flac' | 'ogg';

/** The media type without parameters, lower-cased ("Audio/WAV; codecs=1" → "audio/wav"). */
export const mediaType = (contentType: string) => contentType.split(';')[0]?.trim().toLowerCase() ?? '';

/** The format a content type declares, or undefined (own keys only: "constructor" is not a type). */
export const uploadFormat = (contentType: string): UploadFormat | undefined => {
  const type = mediaType(contentType);
  return Object.hasOwn(UPLOAD_TYPES, type) ? UPLOAD_TYPES[type] : undefined;
};

export function createUploadRules(maxBytes: number) {
  return z.object({
    filename: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(255, 'must be at most 255 characters')
      .refine(
        (v) => ![...v].some((c) => c.charCodeAt(0) < 0x20 || c === '/' || c === '\\'),
        'must be a file name, without a path or control characters',
      ),
    contentType: z
      .string()
      .max(100, 'must be at most 100 characters')
      .refine((v) => uploadFormat(v) !== undefined, {
        message: `must be an audio type we decode: WAV, MP3, FLAC or OGG (${Object.keys(UPLOAD_TYPES).join(', ')})`,
      }),
    bytes: z
      .number()
      .int()
      .min(1, 'the file is empty (0 bytes)')
      .max(maxBytes, `must be at most ${maxBytes} bytes (UPLOAD_MAX_BYTES)`),
  });
}
