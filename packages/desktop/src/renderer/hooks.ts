import { useEffect, useRef, useState } from 'preact/hooks'
import type { AppState, TapestryStore } from './store.js'

/** Re-renders when the selected part of the state changes (compared by identity). */
export function useAppState<T>(store: TapestryStore, select: (s: AppState) => T): T {
  const selectRef = useRef(select)
  selectRef.current = select
  const [value, setValue] = useState(() => select(store.state))
  useEffect(() => {
    const update = () => setValue(() => selectRef.current(store.state))
    update()
    return store.subscribe(update)
  }, [store])
  return value
}

/** Loads `load()` when `deps` change; keeps the last value while reloading. */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { value: T | undefined; error: unknown; loading: boolean } {
  const [state, setState] = useState<{ value: T | undefined; error: unknown; loading: boolean }>({
    value: undefined,
    error: undefined,
    loading: true,
  })
  useEffect(() => {
    let live = true
    setState((s) => ({ ...s, loading: true }))
    load().then(
      (value) => live && setState({ value, error: undefined, loading: false }),
      (error: unknown) => live && setState((s) => ({ value: s.value, error, loading: false })),
    )
    return () => {
      live = false
    }
  }, deps)
  return state
}
