import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { MerkleTreeHasher, merkleRoot } from './merkle';

const sha = (...parts: Buffer[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};
const leaf = (hex: string) => sha(Buffer.of(0), Buffer.from(hex, 'hex'));
const node = (left: Buffer, right: Buffer) => sha(Buffer.of(1), left, right);
const h = (i: number) => sha(Buffer.from(`event ${i}`)).toString('hex');

describe('Merkle tree hash (RFC 9162, 2.1.1)', () => {
  it('matches the definition written out for 0, 1, 2, 3 and 5 leaves', () => {
    expect(merkleRoot([])).toBe(sha().toString('hex'));
    expect(merkleRoot([h(0)])).toBe(leaf(h(0)).toString('hex'));
    expect(merkleRoot([h(0), h(1)])).toBe(node(leaf(h(0)), leaf(h(1))).toString('hex'));
    // Three leaves split 2 + 1; five split 4 + 1.
    expect(merkleRoot([h(0), h(1), h(2)])).toBe(
      node(node(leaf(h(0)), leaf(h(1))), leaf(h(2))).toString('hex'),
    );
    const four = node(node(leaf(h(0)), leaf(h(1))), node(leaf(h(2)), leaf(h(3))));
    expect(merkleRoot([0, 1, 2, 3, 4].map(h))).toBe(node(four, leaf(h(4))).toString('hex'));
  });

  it('the streaming hasher agrees with the definition for any number of leaves', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), (n) => {
        const leaves = Array.from({ length: n }, (_, i) => h(i));
        const hasher = new MerkleTreeHasher();
        for (const value of leaves) hasher.add(value);
        expect(hasher.size).toBe(n);
        expect(hasher.root()).toBe(merkleRoot(leaves));
      }),
    );
  });

  it('changes when any leaf changes', () => {
    const leaves = Array.from({ length: 9 }, (_, i) => h(i));
    const changed = [...leaves];
    changed[6] = h(60);
    expect(merkleRoot(changed)).not.toBe(merkleRoot(leaves));
  });
});
