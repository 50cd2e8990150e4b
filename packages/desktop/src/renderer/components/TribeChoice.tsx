import { useEffect } from 'preact/hooks'

/**
 * A select of tribes, shown only when there is a choice; keeps `value` on one of them
 * (the first, when the chosen tribe is gone or none was chosen yet).
 */
export function TribeChoice({
  label,
  tribes,
  value,
  onChange,
}: {
  label: string
  tribes: readonly { tribeId: string; name: string }[]
  value: string
  onChange: (tribeId: string) => void
}) {
  useEffect(() => {
    if (!tribes.some((t) => t.tribeId === value)) onChange(tribes[0]?.tribeId ?? '')
  }, [tribes, value])
  if (tribes.length < 2) return null
  return (
    <label class="inline">
      <span>{label}</span>
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {tribes.map((t) => (
          <option key={t.tribeId} value={t.tribeId}>
            {t.name}
          </option>
        ))}
      </select>
    </label>
  )
}
