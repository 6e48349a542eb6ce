import { UAParser } from 'ua-parser-js';
import { own } from '../events/json';
import { localDay, localHour, resolveTimezone } from '../profile/time';
import type { Catalog, Place } from './catalog';

/** Where and when the customer is, as the decision sees it. */
export interface DecisionContext {
  now: Date;
  timezone: string;
  localHour: number;
  localDate: string;
  device: 'smartphone' | 'tablet' | 'desktop' | 'wearable' | 'console' | 'smarttv';
  channel?: string;
  placement: string;
  location?: { latitude: number; longitude: number };
  /** Our places whose geofence the customer is inside, nearest first. */
  nearby: Array<Place & { distanceMeters: number }>;
  /** Why nothing intrusive may be shown now, if so. */
  quiet?: string;
}

export interface ContextRequest {
  placement: string;
  timestamp?: string;
  timezone?: string;
  location?: { latitude: number; longitude: number };
  device?: { type?: string; userAgent?: string };
  channel?: string;
}

const EARTH_RADIUS_M = 6_371_000;
/** Great-circle distance in metres (haversine). */
export function distanceMeters(a: { latitude: number; longitude: number }, b: { latitude: number; longitude: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(h));
}

/** Our places whose geofence a location is inside, nearest first (decisions' context, campaigns' geofence triggers). */
export function placesNear(location: { latitude: number; longitude: number }, places: Place[]): Array<Place & { distanceMeters: number }> {
  return places
    .map((p) => ({ ...p, distanceMeters: Math.round(distanceMeters(location, p)) }))
    .filter((p) => p.distanceMeters <= p.radiusMeters)
    .sort((a, b) => a.distanceMeters - b.distanceMeters);
}

const DEVICE_TYPES: Record<string, DecisionContext['device']> = {
  mobile: 'smartphone',
  smartphone: 'smartphone',
  phone: 'smartphone',
  tablet: 'tablet',
  wearable: 'wearable',
  console: 'console',
  smarttv: 'smarttv',
  desktop: 'desktop',
};

/** The device class from an explicit type, else from the user agent (ua-parser-js), else desktop. */
export function deviceClass(device: ContextRequest['device']): DecisionContext['device'] {
  const explicit = device?.type ? own(DEVICE_TYPES, device.type.toLowerCase()) : undefined;
  if (explicit) return explicit;
  if (device?.userAgent) {
    const type = new UAParser(device.userAgent).getDevice().type;
    return (type && own(DEVICE_TYPES, type)) || 'desktop';
  }
  return 'desktop';
}

/**
 * Builds the decision context: the customer's local time (her own time zone — the request's, else
 * the profile's, else the default — never the server's), device class, the geofences she is in, and
 * whether this is a quiet place or hour.
 */
export function decisionContext(request: ContextRequest, catalog: Catalog, fallbackTimezone: string, serverNow: Date = new Date()): DecisionContext {
  const now = request.timestamp ? new Date(request.timestamp) : serverNow;
  const timezone = request.timezone ? resolveTimezone(request.timezone, fallbackTimezone) : fallbackTimezone;
  const hour = localHour(now, timezone);
  const nearby = request.location ? placesNear(request.location, catalog.places) : [];
  const quietPlace = nearby.find((p) => catalog.quiet.placeKinds.includes(p.kind));
  const hours = catalog.quiet.hours;
  const quietHour = hours !== undefined && (hours.from <= hours.to ? hour >= hours.from && hour < hours.to : hour >= hours.from || hour < hours.to);
  return {
    now,
    timezone,
    localHour: hour,
    localDate: localDay(now, timezone),
    device: deviceClass(request.device),
    channel: request.channel,
    placement: request.placement,
    location: request.location,
    nearby,
    quiet: quietPlace ? `at a quiet place (${quietPlace.kind}: ${quietPlace.name})` : quietHour ? `quiet hours (${hours!.from}:00-${hours!.to}:00 local)` : undefined,
  };
}
