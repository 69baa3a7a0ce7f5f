/** The health monitor: active probes and passive failure reports decide which peers stay in this node's ring. */
package io.imgcache.health;
