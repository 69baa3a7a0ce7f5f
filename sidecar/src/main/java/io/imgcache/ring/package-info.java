/** The consistent-hash ring: an immutable snapshot mapping each cache key to its owning member. */
package io.imgcache.ring;
