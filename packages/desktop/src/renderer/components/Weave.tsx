import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks'
import type { WeaveItem } from '../../shared/wire.js'
import { moodColour, nameOf, tickLabel, when } from '../format.js'
import {
  DEFAULT_LAYOUT,
  type LaidNode,
  layoutWeave,
  lowerBound,
  upperBound,
  weaveUnits,
} from '../weave-layout.js'

interface Props {
  items: WeaveItem[]
  names: Record<string, string>
  memberId: string | null
  selected: string | null
  onOpen: (id: string) => void
  /** The partner tribe a federated narrative comes from; null for the member's own. */
  origin: (item: WeaveItem) => string | null
}

/** Pixels drawn beyond each side of the visible window, so a small scroll shows no gap. */
const OVERSCAN = 400
const CHAR_PX = 6.9

/**
 * The tapestry: threads by member, narratives as nodes coloured by mood, echoes as knots
 * on the responder's thread tied back to what they answer. Only what the scroll window
 * shows is in the DOM (each node with its title as text and as accessible name), so
 * 5,000 narratives scroll like 50.
 */
export function Weave({ items, names, memberId, selected, onOpen, origin }: Props) {
  const started = performance.now()
  const scroller = useRef<HTMLDivElement>(null)
  const [zoom, setZoom] = useState(1)
  const [view, setView] = useState({ left: 0, width: 960 })
  const follow = useRef(true)
  const pendingFocus = useRef<number | null>(null)

  // A few narratives spread over the window; many keep the base step and scroll.
  const fit = useMemo(() => {
    const room = (view.width - DEFAULT_LAYOUT.gutter) / weaveUnits(items)
    return Math.min(260, Math.max(DEFAULT_LAYOUT.step, room))
  }, [items, view.width])
  const layout = useMemo(
    () => layoutWeave(items, { ...DEFAULT_LAYOUT, step: fit * zoom }, tickLabel),
    [items, fit, zoom],
  )

  // Keep the newest narratives in view while the member has not scrolled away from them.
  useLayoutEffect(() => {
    const el = scroller.current
    if (!el) return
    if (follow.current) el.scrollLeft = el.scrollWidth
    setView({ left: el.scrollLeft, width: el.clientWidth })
  }, [layout.width])

  useEffect(() => {
    const el = scroller.current
    if (!el) return
    const ro = new ResizeObserver(() => setView({ left: el.scrollLeft, width: el.clientWidth }))
    ro.observe(el)
    return () => ro.disconnect()
  }, [])

  useLayoutEffect(() => {
    performance.measure('tapestry:weave', {
      start: started,
      end: performance.now(),
      detail: { narratives: items.length },
    })
    if (pendingFocus.current !== null) {
      const g = scroller.current?.querySelector<SVGGElement>(`[data-idx="${pendingFocus.current}"]`)
      pendingFocus.current = null
      g?.focus()
    }
  })

  let frame = 0
  const onScroll = () => {
    const el = scroller.current
    if (!el || frame) return
    frame = requestAnimationFrame(() => {
      frame = 0
      follow.current = el.scrollLeft + el.clientWidth >= el.scrollWidth - 60
      setView({ left: el.scrollLeft, width: el.clientWidth })
    })
  }

  const zoomBy = (factor: number) => {
    const el = scroller.current
    const next = Math.min(4, Math.max(0.25, zoom * factor))
    if (el) {
      // Keep the middle of the window where it is.
      const mid = el.scrollLeft + el.clientWidth / 2
      const ratio = next / zoom
      requestAnimationFrame(() => {
        el.scrollLeft = mid * ratio - el.clientWidth / 2
      })
    }
    setZoom(next)
  }

  const onWheel = (e: WheelEvent) => {
    if (!e.ctrlKey) return
    e.preventDefault()
    zoomBy(e.deltaY < 0 ? 1.2 : 1 / 1.2)
  }

  const moveFocus = (idx: number) => {
    const el = scroller.current
    const node = layout.nodes[idx]
    if (!el || !node) return
    if (
      node.x < el.scrollLeft + DEFAULT_LAYOUT.gutter ||
      node.x > el.scrollLeft + el.clientWidth - 40
    ) {
      el.scrollLeft = node.x - el.clientWidth / 2
      setView({ left: el.scrollLeft, width: el.clientWidth })
    }
    pendingFocus.current = idx
    setView((v) => ({ ...v }))
  }

  const onNodeKey = (e: KeyboardEvent, idx: number, id: string) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault()
      onOpen(id)
    } else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault()
      moveFocus(idx + (e.key === 'ArrowRight' ? 1 : -1))
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault()
      moveFocus(e.key === 'Home' ? 0 : layout.nodes.length - 1)
    }
  }

  const left = view.left - OVERSCAN
  const right = view.left + view.width + OVERSCAN
  const lo = lowerBound(layout.xs, left)
  const hi = upperBound(layout.xs, right)
  const visible = layout.nodes.slice(lo, hi)
  const kLo = lowerBound(layout.knotXs, left)
  const kHi = upperBound(layout.knotXs, right)
  const knots = layout.knots.slice(kLo, kHi)
  const ticks = layout.ticks.filter((t) => t.x >= left && t.x <= right)
  // A member of a partner tribe: their thread is named with the tribe it comes from.
  const laneOrigins = new Map<string, string>()
  for (const n of layout.nodes) {
    const from = origin(n.item)
    if (from) for (const a of n.item.authors) if (!laneOrigins.has(a)) laneOrigins.set(a, from)
  }

  const label = (n: LaidNode) => {
    const chars = Math.floor((n.room - 18) / CHAR_PX)
    const t = n.item.title || '(untitled)'
    if (chars < 4) return ''
    return t.length <= chars ? t : `${t.slice(0, chars - 1)}…`
  }
  const accessibleName = (n: LaidNode) =>
    [
      n.item.title || '(untitled)',
      `by ${n.item.authors.map((a) => nameOf(names, a)).join(' and ')}`,
      origin(n.item) ? `from ${origin(n.item)}` : '',
      when(n.item.createdAt),
      n.item.mood ? `mood ${n.item.mood}` : '',
      n.item.echoes.length
        ? `${n.item.echoes.length} echo${n.item.echoes.length > 1 ? 'es' : ''}`
        : '',
    ]
      .filter(Boolean)
      .join(', ')

  if (items.length === 0) return null

  return (
    <div class="weave">
      <div class="weave-tools">
        <span class="weave-count">
          {items.length} narrative{items.length === 1 ? '' : 's'}
        </span>
        <fieldset class="zoom" aria-label="Zoom the weave">
          <button type="button" class="icon" onClick={() => zoomBy(1 / 1.4)} aria-label="Zoom out">
            −
          </button>
          <button type="button" class="icon" onClick={() => zoomBy(1.4)} aria-label="Zoom in">
            +
          </button>
        </fieldset>
      </div>
      <div class="weave-scroll" ref={scroller} onScroll={onScroll} onWheel={onWheel}>
        <div
          class="weave-spacer"
          style={{ width: `${layout.width}px`, height: `${layout.height}px` }}
        >
          {/* biome-ignore lint/a11y/useSemanticElements: an SVG drawing has no <fieldset> */}
          <svg
            class="weave-svg"
            width={view.width}
            height={layout.height}
            role="group"
            aria-label="The tapestry: narratives over time, one thread per member"
          >
            <g transform={`translate(${-view.left} 0)`}>
              {ticks.map((t) => (
                <g key={`t${t.x}`} class="tick">
                  <line x1={t.x} x2={t.x} y1={28} y2={layout.height - 10} />
                  <text x={t.x + 4} y={18}>
                    {t.label}
                  </text>
                </g>
              ))}
              {layout.lanes.map((lane) => (
                <line
                  key={`l${lane.memberId}`}
                  class={lane.memberId === memberId ? 'thread mine' : 'thread'}
                  x1={Math.max(lane.x0 - 20, left)}
                  x2={Math.min(lane.x1 + 20, right)}
                  y1={lane.y}
                  y2={lane.y}
                />
              ))}
              {knots.map((k) => {
                const c = moodColour(k.from.item.mood)
                const midX = (k.from.x + k.x) / 2
                // Across threads: an S from the narrative down (or up) to the knot; on the
                // same thread: a loop over it.
                const d =
                  k.y === k.from.y
                    ? `M${k.from.x} ${k.y} Q${midX} ${k.y - 30} ${k.x} ${k.y}`
                    : `M${k.from.x} ${k.from.y} C${midX} ${k.from.y} ${midX} ${k.y} ${k.x} ${k.y}`
                // A tie longer than the window would only cross it: the knot stands alone.
                const tied = Math.abs(k.x - k.from.x) <= view.width
                return (
                  <g key={k.id} class="knot">
                    {tied && <path d={d} stroke={c.edge} />}
                    <circle cx={k.x} cy={k.y} r={4.5} fill="#fff" stroke={c.edge} />
                  </g>
                )
              })}
              {visible.map((n, i) => {
                const c = moodColour(n.item.mood)
                const idx = lo + i
                const isSel = n.item.id === selected
                const from = origin(n.item)
                return (
                  // biome-ignore lint/a11y/useSemanticElements: an SVG node cannot be a <button>
                  <g
                    key={n.item.id}
                    class={`node${isSel ? ' selected' : ''}${from ? ' federated' : ''}`}
                    transform={`translate(${n.x} ${n.y})`}
                    tabindex={0}
                    role="button"
                    aria-label={accessibleName(n)}
                    aria-pressed={isSel}
                    data-id={n.item.id}
                    data-idx={idx}
                    onClick={() => onOpen(n.item.id)}
                    onKeyDown={(e) => onNodeKey(e, idx, n.item.id)}
                  >
                    <title>{from ? `${n.item.title} (from ${from})` : n.item.title}</title>
                    {n.coYs.map((cy) => (
                      <g key={`c${cy}`} class="coauthor">
                        <line x1={0} x2={0} y1={0} y2={cy - n.y} stroke={c.edge} />
                        <circle cx={0} cy={cy - n.y} r={4} fill={c.fill} stroke={c.edge} />
                      </g>
                    ))}
                    <circle class="halo" r={15} />
                    {from && <circle class="origin" r={13} stroke={c.edge} />}
                    <circle
                      class="dot"
                      r={n.item.echoes.length ? 10 : 8}
                      fill={c.fill}
                      stroke={c.edge}
                    />
                    {n.item.echoes.length > 0 && (
                      <text class="echo-count" x={0} y={3.5} stroke={c.edge}>
                        {n.item.echoes.length}
                      </text>
                    )}
                    <text class="title" x={10} y={n.side === 'above' ? -13 : 22}>
                      {label(n)}
                    </text>
                  </g>
                )
              })}
            </g>
            <g class="lane-names">
              <rect x={0} y={0} width={DEFAULT_LAYOUT.gutter - 16} height={layout.height} />
              <line
                x1={DEFAULT_LAYOUT.gutter - 16}
                x2={DEFAULT_LAYOUT.gutter - 16}
                y1={0}
                y2={layout.height}
              />
              {layout.lanes.map((lane) => (
                <g key={`n${lane.memberId}`}>
                  <text x={14} y={lane.y + 4} class={lane.memberId === memberId ? 'me' : ''}>
                    {truncate(
                      nameOf(names, lane.memberId) + (lane.memberId === memberId ? ' (you)' : ''),
                      19,
                    )}
                  </text>
                  {laneOrigins.has(lane.memberId) && (
                    <text x={14} y={lane.y + 20} class="origin">
                      {truncate(`from ${laneOrigins.get(lane.memberId)}`, 21)}
                    </text>
                  )}
                </g>
              ))}
            </g>
          </svg>
        </div>
      </div>
    </div>
  )
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`
}
