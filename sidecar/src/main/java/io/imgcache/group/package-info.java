/** The get/load logic of one group: caches, owner choice, coalesced loads; no HTTP types. */
package io.imgcache.group;
