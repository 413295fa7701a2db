/*
 * A callback the native side keeps for good (a threadsafe function is a GC root) that must not
 * keep its target alive: it holds the target weakly and drops calls once it is collected.
 * Made outside the target's constructor on purpose: V8 gives all closures of one scope a shared
 * context, so an arrow made in a constructor that also uses `this` in another closure would
 * hold `this` strongly. `handle` must not close over the target either (a static method).
 */

export function weakCallback<T extends object, A>(target: T, handle: (target: T, arg: A) => void): (arg: A) => void {
  const ref = new WeakRef(target)
  return (arg) => {
    const t = ref.deref()
    if (t !== undefined) handle(t, arg)
  }
}
