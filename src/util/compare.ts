// Code-point string order for everything that is sorted before hashing or comparing: the same
// in every Node build (localeCompare depends on ICU data, and its first call costs several ms
// of ICU start-up in a short-lived CLI).
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
