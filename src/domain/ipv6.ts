/** IPv6 text forms shared by the Sigma cidr modifier and indicator normalisation. Pure. */

/**
 * Eight 16-bit groups as RFC 5952 text: lower-case hex without leading zeros, the longest run of two or more
 * zero groups (the first one on a tie) written `::` (a single zero group is never compressed, section 4.2.2).
 */
export function compressIpv6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
