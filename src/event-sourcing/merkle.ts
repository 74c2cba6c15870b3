import { createHash } from 'node:crypto';

/**
 * The Merkle tree hash of RFC 9162 (Certificate Transparency 2.0), section 2.1.1, over a
 * sequence of leaves, computed as they stream past in O(log n) memory:
 *   MTH({})    = SHA-256()
 *   MTH({d0})  = SHA-256(0x00 || d0)
 *   MTH(D[n])  = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of 2 below n.
 * Here a leaf is an event's hash (32 bytes), in position order.
 */
export class MerkleTreeHasher {
  // Roots of the complete subtrees so far, largest first, with their sizes (powers of 2).
  private readonly stack: Array<{ size: number; hash: Buffer }> = [];
  private count = 0;

  /** Adds the next leaf (its data: here an event's SHA-256 hash, as hex). */
  add(leafHex: string): void {
    let node = { size: 1, hash: leafHash(Buffer.from(leafHex, 'hex')) };
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.size === node.size) {
      const left = this.stack.pop()!;
      node = { size: left.size * 2, hash: nodeHash(left.hash, node.hash) };
    }
    this.stack.push(node);
    this.count += 1;
  }

  /** How many leaves were added. */
  get size(): number {
    return this.count;
  }

  /** The tree head over every leaf added so far, as hex. */
  root(): string {
    if (this.stack.length === 0) return createHash('sha256').digest('hex');
    // The smaller subtrees on the right fold into the larger ones on their left.
    let hash = this.stack[this.stack.length - 1]!.hash;
    for (let i = this.stack.length - 2; i >= 0; i -= 1) hash = nodeHash(this.stack[i]!.hash, hash);
    return hash.toString('hex');
  }
}

/** MTH over `leaves` (hex), by the recursive definition: the reference the streaming hasher is checked against. */
export function merkleRoot(leaves: readonly string[]): string {
  const mth = (from: number, to: number): Buffer => {
    const n = to - from;
    if (n === 0) return createHash('sha256').digest();
    if (n === 1) return leafHash(Buffer.from(leaves[from]!, 'hex'));
    let k = 1;
    while (k * 2 < n) k *= 2;
    return nodeHash(mth(from, from + k), mth(from + k, to));
  };
  return mth(0, leaves.length).toString('hex');
}

function leafHash(data: Buffer): Buffer {
  return createHash('sha256').update(Buffer.of(0)).update(data).digest();
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(Buffer.of(1)).update(left).update(right).digest();
}
