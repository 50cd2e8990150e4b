import { describe, expect, it } from 'vitest'
import {
  DEFAULT_LAYOUT,
  gapSteps,
  layoutWeave,
  lowerBound,
  upperBound,
  weaveUnits,
} from '../src/renderer/weave-layout.js'
import type { WeaveItem } from '../src/shared/wire.js'

const item = (
  id: string,
  createdAt: number,
  authors: string[],
  echoes: WeaveItem['echoes'] = [],
): WeaveItem => ({
  id,
  tribeId: 't',
  title: id,
  authors,
  audience: 'tribe',
  tags: [],
  mood: null,
  createdAt,
  excerpt: '',
  echoes,
})
const MIN = 60_000

describe('weave layout', () => {
  it('puts time left to right, at least one step apart, longer silences further', () => {
    const l = layoutWeave([item('c', 10 * MIN, ['b']), item('a', 0, ['a']), item('b', 1, ['a'])])
    expect(l.nodes.map((n) => n.item.id)).toEqual(['a', 'b', 'c'])
    const [a, b, c] = l.nodes
    expect(b!.x - a!.x).toBeGreaterThanOrEqual(DEFAULT_LAYOUT.step)
    expect(c!.x - b!.x).toBeGreaterThan(b!.x - a!.x)
    expect([...l.xs]).toEqual(l.nodes.map((n) => n.x))
    expect(gapSteps(0)).toBe(1)
    expect(gapSteps(365 * 86_400_000)).toBeLessThanOrEqual(4)
  })

  it('gives each member a thread, in order of first appearance, responders included', () => {
    const l = layoutWeave([
      item('a', 0, ['ada']),
      item('b', MIN, ['bo', 'ada'], [{ id: 'e', author: 'cy', at: 2 * MIN }]),
    ])
    expect(l.lanes.map((x) => x.memberId)).toEqual(['ada', 'bo', 'cy'])
    const [ada, bo, cy] = l.lanes
    const b = l.nodes[1]!
    expect(b.y).toBe(bo!.y)
    expect(b.coYs).toEqual([ada!.y])
    expect(l.knots).toHaveLength(1)
    expect(l.knots[0]).toMatchObject({ id: 'e', y: cy!.y })
    expect(l.knots[0]!.x).toBeGreaterThan(b.x)
    expect(l.width).toBeGreaterThan(l.knots[0]!.x)
  })

  it('alternates titles above and below a thread, each with the room up to the next on its side', () => {
    const l = layoutWeave([0, 1, 2, 3].map((i) => item(`n${i}`, i, ['ada'])))
    expect(l.nodes.map((n) => n.side)).toEqual(['above', 'below', 'above', 'below'])
    expect(l.nodes[0]!.room).toBeCloseTo(l.nodes[2]!.x - l.nodes[0]!.x)
  })

  it('finds what a scroll window shows by binary search', () => {
    const xs = [10, 20, 20, 30]
    expect(lowerBound(xs, 20)).toBe(1)
    expect(upperBound(xs, 20)).toBe(3)
    expect(lowerBound(xs, 99)).toBe(4)
    expect(upperBound(xs, 0)).toBe(0)
    expect(weaveUnits([])).toBeGreaterThan(0)
  })

  it('lays out 5,000 narratives', () => {
    const items = Array.from({ length: 5000 }, (_, i) =>
      item(
        `n${i}`,
        i * 7 * MIN,
        [`m${i % 12}`],
        i % 3 ? [] : [{ id: `e${i}`, author: `m${(i + 1) % 12}`, at: i * 7 * MIN + MIN }],
      ),
    )
    const l = layoutWeave(items)
    expect(l.nodes).toHaveLength(5000)
    expect(l.lanes).toHaveLength(12)
    expect(l.knots).toHaveLength(1667)
  })
})
