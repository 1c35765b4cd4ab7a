import { describe, expect, it } from 'vitest';
import { canonicalUuid } from '../../src/uuid.js';

describe('canonicalUuid', () => {
  it('spells any 8-4-4-4-12 hex uuid in lower case, as PostgreSQL does', () => {
    expect(canonicalUuid('6F9619FF-8B86-D011-B42D-00C04FC964FF')).toBe('6f9619ff-8b86-d011-b42d-00c04fc964ff');
    // No RFC version or variant is demanded: PostgreSQL's uuid type reads this one too.
    expect(canonicalUuid('00000000-0000-0000-0000-000000000000')).toBe('00000000-0000-0000-0000-000000000000');
  });

  it('refuses what is not one', () => {
    for (const value of [
      '',
      'x',
      '6f9619ff8b86d011b42d00c04fc964ff',
      '6f9619ff-8b86-d011-b42d-00c04fc964f',
      ' 6f9619ff-8b86-d011-b42d-00c04fc964ff',
      '6f9619ff-8b86-d011-b42d-00c04fc964fg',
      '{6f9619ff-8b86-d011-b42d-00c04fc964ff}',
    ])
      expect(canonicalUuid(value)).toBeNull();
  });
});
