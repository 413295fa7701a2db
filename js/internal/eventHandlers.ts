/*
 * Generic `on<event>` event handler attributes (HTML "event handler IDL
 * attributes"): the first non-null assignment registers one listener, later
 * assignments only swap the callback (so the handler keeps its position among
 * listeners), and null removes the listener.
 */

export type EventHandler<E extends Event = Event> = ((this: EventTarget, ev: E) => unknown) | null

interface HandlerSlot {
  callback: (this: EventTarget, ev: Event) => unknown
  listener: (ev: Event) => void
}

const slots = new WeakMap<EventTarget, Map<string, HandlerSlot>>()

export function getEventHandler<E extends Event>(target: EventTarget, type: string): EventHandler<E> {
  const slot = slots.get(target)?.get(type)
  return slot ? (slot.callback as EventHandler<E>) : null
}

export function setEventHandler<E extends Event>(target: EventTarget, type: string, handler: EventHandler<E> | undefined): void {
  let byType = slots.get(target)
  // Non-callable values are treated as null, as [LegacyTreatNonObjectAsNull] does.
  if (typeof handler !== 'function') {
    const slot = byType?.get(type)
    if (slot) {
      target.removeEventListener(type, slot.listener)
      byType?.delete(type)
    }
    return
  }
  if (!byType) {
    byType = new Map()
    slots.set(target, byType)
  }
  const existing = byType.get(type)
  if (existing) {
    existing.callback = handler as HandlerSlot['callback']
    return
  }
  const slot: HandlerSlot = {
    callback: handler as HandlerSlot['callback'],
    listener: (ev: Event) => {
      // Returning false cancels the event (HTML "the event handler processing algorithm").
      if (slot.callback.call(target, ev) === false) ev.preventDefault()
    },
  }
  byType.set(type, slot)
  target.addEventListener(type, slot.listener)
}

/**
 * Defines the `on<type>` event handler IDL attributes of a class once, as accessor pairs on
 * its prototype; the class declares each for its type (`declare on<type>: EventHandler<E>`).
 */
export function defineEventHandlerAttributes(ctor: { prototype: EventTarget }, types: readonly string[]): void {
  for (const type of types) {
    Object.defineProperty(ctor.prototype, `on${type}`, {
      get(this: EventTarget): EventHandler {
        return getEventHandler(this, type)
      },
      set(this: EventTarget, handler: EventHandler) {
        setEventHandler(this, type, handler)
      },
      configurable: true,
      enumerable: false,
    })
  }
}
